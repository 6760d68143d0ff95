//! The lake's lock for a command that writes (see `movielens::lock`).

use movielens::config::Settings;
use movielens::lake::Lake;
use movielens::lock::LakeLock;

/// Takes the lake's lock for `command`, waiting when `--wait` (or
/// `run.lock_wait`) says so.
pub async fn acquire(lake: &Lake, settings: &Settings, command: &str) -> anyhow::Result<LakeLock> {
    Ok(movielens::lock::acquire(lake, command, settings.run.lock_wait).await?)
}
