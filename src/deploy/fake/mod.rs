//! In-memory fakes of ECS and of the Prefect API, for tests (the `testing` feature): they
//! implement `deploy::api`'s traits as the real services behave where spotplan relies on
//! them, record every write, and take injected failures and lost answers.

pub mod ecs;
pub mod prefect;

pub use ecs::FakeEcs;
pub use prefect::{FakePrefect, PrefectState};
