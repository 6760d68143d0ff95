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
        loud(&format!(
            "SKIPPING: real sample data not found at {} (set MOVIELENS_SHARED_DATA)",
            dir.display()
        ));
        None
    }
}

/// Compares two answers: integers and strings exactly, floats to 1e-9 relative.
pub fn assert_same(got: &movielens::answers::Answers, want: &movielens::answers::Answers) {
    let g = serde_json::to_value(got).unwrap();
    let w = serde_json::to_value(want).unwrap();
    compare("answers", &g, &w);
}

fn compare(path: &str, got: &serde_json::Value, want: &serde_json::Value) {
    use serde_json::Value::*;
    match (got, want) {
        (Object(a), Object(b)) => {
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                b.keys().collect::<Vec<_>>(),
                "{path}: keys"
            );
            for (k, v) in a {
                compare(&format!("{path}.{k}"), v, &b[k]);
            }
        }
        (Array(a), Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: length");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(&format!("{path}[{i}]"), x, y);
            }
        }
        (Number(a), Number(b)) if a.is_f64() || b.is_f64() => {
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(relative_eq(x, y), "{path}: got {x}, reference {y}");
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

/// Prints past the test harness's output capture (it captures only the print
/// macros), so a skip is seen even when the test passes.
pub fn loud(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n!!! {message} !!!\n");
}

pub fn relative_eq(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// A free TCP port on loopback for a server (see [`free_ports`]).
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free ports for servers, below Linux's ephemeral range
/// (32768+), so an outgoing connection cannot take one between the check and
/// the server's bind. Held open together while chosen, so they differ.
pub fn free_ports(n: usize) -> Vec<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id() * 7919
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
    let mut held = Vec::new();
    while held.len() < n {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + ((seed.wrapping_add(k.wrapping_mul(104_729))) % 12_000) as u16;
        if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            held.push(l);
        }
    }
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Waits until `service` listens on `port`; panics with its log after `secs`.
pub fn wait_for_service(port: u16, secs: u64, what: &str, log: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} did not listen on port {port} within {secs} s; its log:\n{text}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Waits until something listens on `port` (panics after `secs`).
pub fn wait_for_port(port: u16, secs: u64, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not listen on port {port} within {secs} s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A child process killed when dropped.
pub struct Service {
    pub name: String,
    pub child: std::process::Child,
}

impl Service {
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Self {
        let file = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            name: name.into(),
            child,
        }
    }

    /// SIGKILL, as a crashed host would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// moto_server, the machine's S3 stand-in, on a free port with one bucket.
pub struct S3 {
    pub endpoint: String,
    pub bucket: String,
    _server: Service,
}

impl S3 {
    /// None (with a loud message) when `moto_server` is not installed.
    pub fn start(dir: &Path, bucket: &str) -> Option<Self> {
        let port = free_port();
        let mut cmd = Command::new("moto_server");
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let server = match cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            Ok(child) => Service {
                name: "moto_server".into(),
                child,
            },
            Err(e) => {
                loud(&format!(
                    "SKIPPING: moto_server not available ({e}); `pip install 'moto[server]'`"
                ));
                return None;
            }
        };
        wait_for_port(port, 30, "moto_server");
        // moto accepts unsigned requests: create the bucket with a bare PUT.
        // Listening is not yet serving: once (in CI) the first request right
        // after the port opened was reset, so an I/O error is retried for as
        // long as the port wait allows.
        use std::io::{Read, Write};
        let put = || -> std::io::Result<String> {
            let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
            write!(
                conn,
                "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            let mut reply = String::new();
            conn.read_to_string(&mut reply)?;
            Ok(reply)
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let reply = loop {
            match put() {
                Ok(reply) => break reply,
                Err(e) if std::time::Instant::now() < deadline => {
                    eprintln!(
                        "moto_server on port {port}: creating bucket {bucket}: {e}; retrying"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(e) => panic!("moto_server on port {port}: creating bucket {bucket}: {e}"),
            }
        };
        assert!(
            reply.starts_with("HTTP/1.1 200"),
            "creating bucket {bucket}: {reply}"
        );
        let _ = dir;
        Some(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.into(),
            _server: server,
        })
    }

    /// Environment that points movielens (and AWS code) at this server.
    pub fn env(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (
                "MOVIELENS_LAKE".into(),
                format!("s3://{}/{prefix}", self.bucket),
            ),
            ("MOVIELENS_S3__ENDPOINT".into(), self.endpoint.clone()),
            ("MOVIELENS_S3__ALLOW_HTTP".into(), "true".into()),
            ("MOVIELENS_S3__ACCESS_KEY_ID".into(), "testing".into()),
            (
                "MOVIELENS_S3__SECRET_ACCESS_KEY".into(),
                "testing-secret".into(),
            ),
            ("MOVIELENS_S3__REGION".into(), "us-east-1".into()),
        ]
    }
}

/// Copies the real sample into `dir` as a run's inputs a test may edit:
/// `dir/kaggle/` (movies_metadata.csv, links.csv, ratings_small.csv as
/// ratings.csv) and `dir/cpi.csv`.
pub fn copy_sample(shared: &Path, dir: &Path) {
    let kaggle = dir.join("kaggle");
    std::fs::create_dir_all(&kaggle).unwrap();
    let sample = shared.join("kaggle-sample");
    for (from, to) in [
        ("movies_metadata.csv", "movies_metadata.csv"),
        ("links.csv", "links.csv"),
        ("ratings_small.csv", "ratings.csv"),
    ] {
        std::fs::copy(sample.join(from), kaggle.join(to)).unwrap();
    }
    std::fs::copy(shared.join("fred/CUSR0000SS62031.csv"), dir.join("cpi.csv")).unwrap();
}
