//! Helpers shared by the end-to-end tests: the real binary, temp lakes, the
//! shared real samples.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `movielens` binary cargo built for these tests.
pub fn movielens() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_movielens"));
    // Tests must never reach AWS or a user's config.
    cmd.env_remove("RUST_LOG")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (key, _) in std::env::vars() {
        if key.starts_with("MOVIELENS_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs `cmd`, panicking with its output when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn movielens");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `../shared/data` next to the repository (or $MOVIELENS_SHARED_DATA). None,
/// with a loud message, when it is absent: those tests then skip.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("MOVIELENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    if dir.join("kaggle-sample/movies_metadata.csv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "\n!!! SKIPPING: real sample data not found at {} (set MOVIELENS_SHARED_DATA) !!!\n",
            dir.display()
        );
        None
    }
}

pub fn relative_eq(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}
