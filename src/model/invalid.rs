//! The error of a value someone wrote that is not allowed: its message says what is wrong and
//! what is allowed, ready to be shown with the field or flag it came from.

/// A value that is not allowed, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<Invalid> for String {
    fn from(e: Invalid) -> String {
        e.0
    }
}

impl From<String> for Invalid {
    fn from(m: String) -> Invalid {
        Invalid(m)
    }
}

impl std::ops::Deref for Invalid {
    type Target = str;
    /// The message.
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Invalid {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
