//! One writer per lake.
//!
//! Every command that writes to the lake holds the lake's lock for as long as
//! it runs, so two runs can never mix their inputs or publish over each
//! other. On a local lake the lock is an advisory file lock on `_LOCK` (the
//! kernel drops it when the holder dies). On S3 it is a lease: `_LOCK.json`
//! created with a conditional put, naming its owner and an expiry the holder
//! renews; a holder that died stops renewing and its lease expires.

use std::io::{Seek, Write};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::lake::{Lake, LakeError};

/// Who holds the lock, as written in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    /// `host:pid`.
    pub owner: String,
    /// The command holding it (`run`, `transform`, …).
    pub command: String,
    pub since: String,
    /// When an S3 lease lapses unless renewed (RFC 3339); none for a file lock.
    #[serde(default)]
    pub expires_at: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`movielens {}` ({}) since {}",
            self.command, self.owner, self.since
        )?;
        if let Some(at) = &self.expires_at {
            write!(f, ", lease until {at}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "lake {root} is being written by {holder}; wait for it to finish, or pass --wait to queue behind it"
    )]
    Held { root: String, holder: Holder },
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("lake {root}: lock file {path}: {source}")]
    File {
        root: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How long an S3 lease lasts without renewal; renewed every third of it.
pub const LEASE: Duration = Duration::from_secs(60);

const LEASE_KEY: &str = "_LOCK.json";
const LOCK_FILE: &str = "_LOCK";

/// The lock, held until dropped.
pub struct LakeLock {
    held: Held,
}

enum Held {
    /// The open file carries the advisory lock.
    File(std::fs::File),
    Lease {
        lake: Lake,
        owner: String,
        renewal: tokio::task::JoinHandle<()>,
    },
}

fn me(command: &str, expires_at: Option<String>) -> Holder {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    Holder {
        owner: format!("{host}:{}", std::process::id()),
        command: command.into(),
        since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        expires_at,
    }
}

/// Takes the lake's lock for `command`. Held by another writer: refused at
/// once naming it, or with `wait` retried every 2 s until it is free.
pub async fn acquire(lake: &Lake, command: &str, wait: bool) -> Result<LakeLock, LockError> {
    let mut told = false;
    loop {
        let attempt = match lake.local_dir() {
            Some(dir) => try_file(lake, &dir.join(LOCK_FILE), command)?,
            None => try_lease(lake, command).await?,
        };
        match attempt {
            Ok(lock) => return Ok(lock),
            Err(holder) if wait => {
                if !told {
                    info!(holder = %holder, "waiting for the lake's lock");
                    told = true;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(holder) => {
                return Err(LockError::Held {
                    root: lake.root().into(),
                    holder,
                });
            }
        }
    }
}

fn try_file(
    lake: &Lake,
    path: &std::path::Path,
    command: &str,
) -> Result<Result<LakeLock, Holder>, LockError> {
    let file_err = |source| LockError::File {
        root: lake.root().into(),
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(file_err)?;
    match file.try_lock() {
        Ok(()) => {
            let holder = serde_json::to_vec(&me(command, None)).expect("holder serialises");
            file.set_len(0).map_err(file_err)?;
            file.rewind().map_err(file_err)?;
            file.write_all(&holder).map_err(file_err)?;
            Ok(Ok(LakeLock {
                held: Held::File(file),
            }))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let holder = serde_json::from_str(&text).unwrap_or_else(|_| Holder {
                owner: "unknown".into(),
                command: "unknown".into(),
                since: "unknown".into(),
                expires_at: None,
            });
            Ok(Err(holder))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(file_err(e)),
    }
}

fn lease_until() -> String {
    (chrono::Utc::now() + LEASE).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn expired(holder: &Holder) -> bool {
    holder
        .expires_at
        .as_deref()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .is_some_and(|at| at < chrono::Utc::now())
}

async fn try_lease(lake: &Lake, command: &str) -> Result<Result<LakeLock, Holder>, LockError> {
    let mine = me(command, Some(lease_until()));
    let body = || serde_json::to_vec(&mine).expect("holder serialises");
    if !lake.put_if_absent(LEASE_KEY, body()).await? {
        let Some((holder, version)) = lake.read_json_versioned::<Holder>(LEASE_KEY).await? else {
            // Released between our put and our read: try again.
            return Box::pin(try_lease(lake, command)).await;
        };
        if !expired(&holder) {
            return Ok(Err(holder));
        }
        warn!(holder = %holder, "taking over an expired lake lease");
        // Replaced only if it is still the lapsed lease we read: of two
        // writers taking it over at once, exactly one wins (a delete then a
        // create would let the second delete the first one's new lease).
        if !lake.put_if_version(LEASE_KEY, body(), version).await? {
            let holder = lake.read_json::<Holder>(LEASE_KEY).await?.unwrap_or(holder);
            return Ok(Err(holder));
        }
    }
    let renewal = tokio::spawn(renew(lake.clone(), mine.clone()));
    Ok(Ok(LakeLock {
        held: Held::Lease {
            lake: lake.clone(),
            owner: mine.owner,
            renewal,
        },
    }))
}

/// Pushes the lease's expiry forward every third of [`LEASE`] while it is
/// still ours.
async fn renew(lake: Lake, mut mine: Holder) {
    loop {
        tokio::time::sleep(LEASE / 3).await;
        match lake.read_json::<Holder>(LEASE_KEY).await {
            Ok(Some(h)) if h.owner == mine.owner => {
                mine.expires_at = Some(lease_until());
                if let Err(e) = lake.write_json(LEASE_KEY, &mine).await {
                    warn!(error = %e, "could not renew the lake lease");
                }
            }
            Ok(_) => {
                warn!("the lake lease is no longer ours (it expired and was taken over)");
                return;
            }
            Err(e) => warn!(error = %e, "could not read the lake lease to renew it"),
        }
    }
}

impl Drop for LakeLock {
    fn drop(&mut self) {
        match &self.held {
            Held::File(file) => {
                let _ = file.unlock();
            }
            Held::Lease {
                lake,
                owner,
                renewal,
            } => {
                renewal.abort();
                // Give the lease back now rather than let the next writer wait
                // for it to expire: a command that fails with `?` drops its
                // lock without calling release.
                let Ok(handle) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
                    return;
                }
                let (lake, owner) = (lake.clone(), owner.clone());
                tokio::task::block_in_place(|| {
                    handle.block_on(async {
                        if let Ok(Some(h)) = lake.read_json::<Holder>(LEASE_KEY).await
                            && h.owner == owner
                        {
                            let _ = lake.delete(LEASE_KEY).await;
                        }
                    })
                });
            }
        }
    }
}
