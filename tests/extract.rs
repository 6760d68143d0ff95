//! `movielens extract` against a local server that speaks the Kaggle and FRED
//! URL shapes (tests/servers/mock_sources.py), serving a real zip of generated
//! Kaggle files and a real CPI file. Each case checks the exit status and
//! message, and what is (not) in the raw zone afterwards.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{S3, Service, free_port, movielens, run_ok, wait_for_service};

const USER: &str = "analyst";
const KEY: &str = "k3y-do-not-print";

struct Sources {
    base: String,
    _server: Service,
}

/// Generated Kaggle files and CPI (shared by the cases of one test).
fn data(dir: &Path) -> PathBuf {
    let out = dir.join("data");
    run_ok(
        movielens()
            .args(["generate", "--scale", "0.002", "--seed", "9", "--out"])
            .arg(&out),
    );
    out
}

fn serve(dir: &Path, data: &Path, modes: &[&str]) -> Sources {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/servers/mock_sources.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .args([
            "--port",
            &port.to_string(),
            "--user",
            USER,
            "--key",
            KEY,
            "--kaggle-dir",
        ])
        .arg(data.join("kaggle"))
        .arg("--cpi")
        .arg(data.join("fred/CUSR0000SS62031.csv"))
        .args(modes);
    let log = dir.join(format!("sources-{port}.log"));
    let server = Service::spawn("mock sources", &mut cmd, &log);
    wait_for_service(port, 30, "mock_sources.py", &log);
    Sources {
        base: format!("http://127.0.0.1:{port}"),
        _server: server,
    }
}

fn extract(
    lake: &str,
    sources: &Sources,
    user: &str,
    key: &str,
    extra_env: &[(String, String)],
) -> Output {
    movielens()
        .args(["--lake", lake, "extract"])
        .env("MOVIELENS_EXTRACT__KAGGLE_BASE_URL", &sources.base)
        .env("MOVIELENS_EXTRACT__FRED_BASE_URL", &sources.base)
        .env("MOVIELENS_EXTRACT__BACKOFF_MS", "50")
        .env("KAGGLE_USERNAME", user)
        .env("KAGGLE_KEY", key)
        .envs(extra_env.iter().cloned())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn manifest(lake: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(lake.join("raw/_MANIFEST.json")).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn happy_path_lands_everything_and_a_rerun_skips_unchanged_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = data(dir.path());
    let sources = serve(dir.path(), &data, &[]);
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();

    let first = extract(lake_arg, &sources, USER, KEY, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let m = manifest(&lake).expect("manifest written");
    let entries = m["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 6, "5 Kaggle CSVs + the CPI: {m}");
    for e in entries {
        assert_eq!(e["uploaded"], true);
        assert_eq!(e["sha256"].as_str().unwrap().len(), 64);
    }
    // Landed under their checksums, byte for byte.
    let key = |file: &str| {
        let e = entries.iter().find(|e| e["file"] == file).unwrap();
        assert!(
            e["key"]
                .as_str()
                .unwrap()
                .starts_with(&format!("raw/objects/{}/", e["sha256"].as_str().unwrap())),
            "{e}"
        );
        lake.join(e["key"].as_str().unwrap())
    };
    let original = std::fs::read(data.join("kaggle/links.csv")).unwrap();
    assert_eq!(std::fs::read(key("links.csv")).unwrap(), original);
    assert!(key("ratings.csv").join("part-00000.csv").is_file());
    assert!(key("ratings.csv").join("_COMPLETE").is_file());
    assert!(key("CUSR0000SS62031.csv").is_file());

    let again = extract(lake_arg, &sources, USER, KEY, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        stderr(&again).matches("unchanged, not uploaded").count(),
        6,
        "{}",
        stderr(&again)
    );
    assert!(
        manifest(&lake).unwrap()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["uploaded"] == false)
    );

    // The extracted raw zone feeds a whole run.
    let run = run_ok(
        movielens()
            .args(["--lake", lake_arg, "run", "--extract", "--format", "json"])
            .env("MOVIELENS_EXTRACT__KAGGLE_BASE_URL", &sources.base)
            .env("MOVIELENS_EXTRACT__FRED_BASE_URL", &sources.base)
            .env("KAGGLE_USERNAME", USER)
            .env("KAGGLE_KEY", KEY),
    );
    let answers: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        answers["highest_rated"]["movies"].as_array().unwrap().len(),
        10
    );
}

#[test]
fn extract_lands_on_s3() {
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3::start(dir.path(), "raw-test") else {
        return;
    };
    let data = data(dir.path());
    let sources = serve(dir.path(), &data, &[]);
    let env: Vec<(String, String)> = s3
        .env("lake")
        .into_iter()
        .filter(|(k, _)| k != "MOVIELENS_LAKE")
        .collect();
    let out = extract(
        &format!("s3://{}/lake", s3.bucket),
        &sources,
        USER,
        KEY,
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let again = extract(
        &format!("s3://{}/lake", s3.bucket),
        &sources,
        USER,
        KEY,
        &env,
    );
    assert_eq!(
        stderr(&again).matches("unchanged, not uploaded").count(),
        6,
        "{}",
        stderr(&again)
    );
}

/// Runs an extract into a fresh lake `name` that must fail with a message
/// containing `needle` and leave the raw zone empty; returns its stderr.
fn fails_landing_nothing(
    dir: &Path,
    sources: &Sources,
    name: &str,
    key: &str,
    env: &[(String, String)],
    needle: &str,
) -> String {
    let lake = dir.join(name);
    let out = extract(lake.to_str().unwrap(), sources, USER, key, env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!lake.join("raw").exists(), "{name}: something was landed");
    err
}

#[test]
fn failures_say_what_happened_and_land_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = data(dir.path());
    let d = dir.path();

    // Wrong credentials: named user, never the key.
    let sources = serve(d, &data, &[]);
    let err = fails_landing_nothing(
        d,
        &sources,
        "lake-auth",
        "wrong-key-123",
        &[],
        &format!("Kaggle rejected the credentials for {USER}"),
    );
    assert!(
        !err.contains("wrong-key-123") && !err.contains(KEY),
        "{err}"
    );

    // A dataset id Kaggle does not know.
    let other = [(
        "MOVIELENS_EXTRACT__KAGGLE_DATASET".to_string(),
        "someone/no-such-dataset".to_string(),
    )];
    fails_landing_nothing(
        d,
        &sources,
        "lake-404",
        KEY,
        &other,
        "no dataset someone/no-such-dataset",
    );

    // A truncated zip (complete response, incomplete archive).
    let sources = serve(d, &data, &["--truncate-zip"]);
    fails_landing_nothing(d, &sources, "lake-zip", KEY, &[], "not a complete zip");

    // A CSV in the zip with the wrong header.
    let broken = d.join("broken");
    for sub in ["kaggle", "fred"] {
        std::fs::create_dir_all(broken.join(sub)).unwrap();
    }
    for f in [
        "kaggle/movies_metadata.csv",
        "kaggle/ratings.csv",
        "fred/CUSR0000SS62031.csv",
    ] {
        std::fs::copy(data.join(f), broken.join(f)).unwrap();
    }
    std::fs::write(
        broken.join("kaggle/links.csv"),
        "movie,imdb,tmdb\r\n1,0000001,2\r\n",
    )
    .unwrap();
    let sources = serve(d, &broken, &[]);
    fails_landing_nothing(d, &sources, "lake-header", KEY, &[], "links.csv has header");

    // FRED answering 200 with an HTML page.
    let sources = serve(d, &data, &["--html-cpi"]);
    fails_landing_nothing(d, &sources, "lake-html", KEY, &[], "HTML page");
}

#[test]
fn server_errors_and_a_cut_connection_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let data = data(dir.path());

    let sources = serve(dir.path(), &data, &["--fail-first", "2"]);
    let lake = dir.path().join("lake-500");
    let out = extract(lake.to_str().unwrap(), &sources, USER, KEY, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("retrying").count(),
        2,
        "{}",
        stderr(&out)
    );
    assert!(manifest(&lake).is_some());

    let sources = serve(dir.path(), &data, &["--cut-body"]);
    let lake = dir.path().join("lake-cut");
    let out = extract(lake.to_str().unwrap(), &sources, USER, KEY, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("retrying"), "{}", stderr(&out));
    assert!(manifest(&lake).is_some());

    // Retries are bounded: a server that keeps failing is given up on.
    let sources = serve(dir.path(), &data, &["--fail-first", "100"]);
    let lake = dir.path().join("lake-give-up");
    let out = extract(
        lake.to_str().unwrap(),
        &sources,
        USER,
        KEY,
        &[("MOVIELENS_EXTRACT__RETRIES".into(), "2".into())],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("gave up") && stderr(&out).contains("3 attempts"),
        "{}",
        stderr(&out)
    );
    assert!(manifest(&lake).is_none());
}
