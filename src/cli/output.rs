//! Output files, written all or nothing: each file goes to a temporary file in its own
//! directory and is renamed over its destination only once every file of the command has been
//! written, so a full disk, a blocked file or Ctrl-C never leaves a truncated result or a mix
//! of old and new files. Destinations are checked before any work starts.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;

use super::UserError;

static SERIAL: AtomicU64 = AtomicU64::new(0);

/// Checks, before a run, that `dest` can be written: `dest` is not a directory, and a file
/// can be created in its directory or, when that does not exist yet, in its nearest existing
/// ancestor (nothing is created: bad input changes nothing). Bad paths are the user's input:
/// exit 1, with the path and the reason.
pub(crate) fn check_writable(dest: &Path) -> Result<(), UserError> {
    if dest.is_dir() {
        return Err(UserError(format!(
            "cannot write `{}`: it is a directory",
            dest.display()
        )));
    }
    let dir = parent(dest);
    let mut existing = dir.as_path();
    while !existing.exists() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        return Err(UserError(format!(
            "cannot write `{}`: `{}` is a file, not a directory",
            dest.display(),
            existing.display()
        )));
    }
    let (probe, f) = temp_in(existing, dest).map_err(|e| {
        UserError(format!(
            "cannot write `{}`: creating a file in `{}` failed: {e}",
            dest.display(),
            existing.display()
        ))
    })?;
    drop(f);
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// [`check_writable`] for a directory of outputs (created if missing).
pub(crate) fn check_dir_writable(dir: &Path) -> Result<(), UserError> {
    if dir.exists() && !dir.is_dir() {
        return Err(UserError(format!(
            "cannot write into `{}`: it is a file, not a directory",
            dir.display()
        )));
    }
    check_writable(&dir.join(".spotplan-probe"))
}

fn parent(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_in(dir: &Path, dest: &Path) -> std::io::Result<(PathBuf, File)> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    loop {
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The files of one command, staged and then committed together.
#[derive(Default)]
pub(crate) struct Outputs {
    /// (temporary file, destination), in the order added.
    staged: Vec<(PathBuf, PathBuf)>,
}

impl Outputs {
    /// Nothing staged.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Stages `body` for `dest`.
    pub(crate) fn add(&mut self, dest: &Path, body: impl AsRef<[u8]>) -> anyhow::Result<()> {
        self.add_with(dest, |w| w.write_all(body.as_ref()))
    }

    /// Stages `body` for `dest` as an executable script (mode 0755 on Unix).
    pub(crate) fn add_script(&mut self, dest: &Path, body: impl AsRef<[u8]>) -> anyhow::Result<()> {
        self.add(dest, body)?;
        #[cfg(unix)]
        if let Some((tmp, _)) = self.staged.last() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("cannot make `{}` executable", dest.display()))?;
        }
        Ok(())
    }

    /// Stages what `write` produces for `dest` (streamed through a buffer).
    pub(crate) fn add_with(
        &mut self,
        dest: &Path,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        self.add_with_mode(dest, None, write)
    }

    /// [`Outputs::add_with`], the file given Unix mode `mode` before anything is written.
    fn add_with_mode(
        &mut self,
        dest: &Path,
        mode: Option<u32>,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let dir = parent(dest);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create directory `{}`", dir.display()))?;
        let (tmp, f) = temp_in(&dir, dest)
            .with_context(|| format!("cannot create a file in `{}`", dir.display()))?;
        self.staged.push((tmp.clone(), dest.to_path_buf()));
        #[cfg(unix)]
        if let Some(m) = mode {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(m))
                .with_context(|| format!("cannot restrict `{}`", dest.display()))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut w = BufWriter::new(f);
        write(&mut w)
            .and_then(|_| w.flush())
            .and_then(|_| w.get_ref().sync_all())
            .with_context(|| format!("cannot write `{}` (nothing was replaced)", dest.display()))?;
        Ok(())
    }

    /// Renames every staged file over its destination.
    pub(crate) fn commit(mut self) -> anyhow::Result<Vec<PathBuf>> {
        // what a rename cannot replace is found before anything is replaced
        if let Some((_, dest)) = self.staged.iter().find(|(_, d)| d.is_dir()) {
            anyhow::bail!(
                "cannot write `{}`: it is a directory (nothing was replaced)",
                dest.display()
            );
        }
        let staged = std::mem::take(&mut self.staged);
        let mut done = Vec::new();
        for (k, (tmp, dest)) in staged.iter().enumerate() {
            if let Err(e) = std::fs::rename(tmp, dest) {
                // put the rest back for Drop to remove
                self.staged = staged[k..].to_vec();
                return Err(e).with_context(|| {
                    format!("cannot move the new `{}` into place", dest.display())
                });
            }
            done.push(dest.clone());
        }
        Ok(done)
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for (tmp, _) in &self.staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Writes one file all or nothing, readable and writable by its owner only (mode 0600 on
/// Unix, set before anything is written).
pub(crate) fn write_private(dest: &Path, body: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let mut o = Outputs::new();
    o.add_with_mode(dest, Some(0o600), |w| w.write_all(body.as_ref()))?;
    o.commit()?;
    Ok(())
}

/// Writes one file all or nothing.
pub(crate) fn write_file(dest: &Path, body: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let mut o = Outputs::new();
    o.add(dest, body)?;
    o.commit()?;
    Ok(())
}

/// `path` made absolute with its existing part resolved (symbolic links, `..`): a directory
/// not made yet keeps its remaining components.
fn resolved(path: &Path) -> Option<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut rest = Vec::new();
    let mut at = abs.as_path();
    loop {
        if let Ok(c) = at.canonicalize() {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return Some(out);
        }
        rest.push(at.file_name()?.to_os_string());
        at = at.parent()?;
    }
}

/// `target` as a path relative to the directory `file` is (or will be) in:
/// `../scenarios/x.toml`.
pub(crate) fn relative_to(target: &Path, file: &Path) -> Option<String> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (t, d) = (resolved(target)?, resolved(&dir)?);
    let (tc, dc): (Vec<_>, Vec<_>) = (t.components().collect(), d.components().collect());
    let common = tc.iter().zip(&dc).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..dc.len() {
        rel.push("..");
    }
    for c in &tc[common..] {
        rel.push(c.as_os_str());
    }
    rel.to_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("spotplan-out-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_failed_file_replaces_nothing_and_leaves_no_temporaries() {
        let d = dir("fail");
        std::fs::write(d.join("a.txt"), "old a").unwrap();
        let mut o = Outputs::new();
        o.add(&d.join("a.txt"), "new a").unwrap();
        let e = o
            .add_with(&d.join("b.txt"), |_| {
                Err(std::io::Error::other("No space left on device"))
            })
            .unwrap_err();
        assert!(format!("{e:#}").contains("b.txt"), "{e:#}");
        drop(o);
        assert_eq!(std::fs::read_to_string(d.join("a.txt")).unwrap(), "old a");
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_commit_replaces_every_file() {
        let d = dir("ok");
        std::fs::write(d.join("a.txt"), "old").unwrap();
        let mut o = Outputs::new();
        o.add(&d.join("a.txt"), "new").unwrap();
        o.add(&d.join("sub/b.txt"), "b").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read_to_string(d.join("a.txt")).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(d.join("sub/b.txt")).unwrap(), "b");
        assert!(check_writable(&d).is_err(), "a directory is not a file");
        assert!(check_dir_writable(&d.join("a.txt")).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
