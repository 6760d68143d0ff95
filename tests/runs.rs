//! Nothing lost, nothing mixed: each case starts from a lake holding a good
//! published run, then fails, kills, races or mis-names a second run the way
//! a hostile but realistic user would, and requires the published run and
//! its answers to be unchanged.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{movielens, run_ok, shared_data};

/// A lake with a good published run of the real sample, and the sample's
/// files copied so cases can edit them.
struct Lake {
    dir: tempfile::TempDir,
    good_run: String,
    good_answers: String,
}

impl Lake {
    fn with_good_run(shared: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        common::copy_sample(shared, dir.path());
        let mut lake = Self {
            dir,
            good_run: "good".into(),
            good_answers: String::new(),
        };
        run_ok(&mut lake.run("good"));
        lake.good_answers = lake.answers();
        lake
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    fn kaggle(&self) -> PathBuf {
        self.dir.path().join("kaggle")
    }

    fn ml(&self) -> Command {
        let mut cmd = movielens();
        cmd.arg("--lake").arg(self.root());
        cmd
    }

    /// `movielens run` of the files in kaggle/ under `run_id`.
    fn run(&self, run_id: &str) -> Command {
        let mut cmd = self.ml();
        cmd.args(["run", "--run-id", run_id, "--input"])
            .arg(self.kaggle())
            .arg("--cpi")
            .arg(self.dir.path().join("cpi.csv"));
        cmd
    }

    /// Other inputs for a second run: the CPI series cut to end in 2015.
    fn cut_cpi_before_2016(&self) {
        let cpi = self.dir.path().join("cpi.csv");
        let cut: String = std::fs::read_to_string(&cpi)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("DATE") || *l < "2016")
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&cpi, cut).unwrap();
    }

    fn answers(&self) -> String {
        let out = run_ok(self.ml().args(["answers", "--format", "json"]));
        String::from_utf8(out.stdout).unwrap()
    }

    /// The published run and its answers are the good run's.
    fn assert_good_run_published(&self, after: &str) {
        let current: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.root().join("curated/_CURRENT.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(current["run_id"], self.good_run.as_str(), "after {after}");
        assert_eq!(
            self.answers(),
            self.good_answers,
            "answers changed after {after}"
        );
        // Its checks still pass, on its own inputs.
        run_ok(self.ml().arg("check"));
    }

    fn state_of(&self, run_id: &str) -> String {
        let out = run_ok(self.ml().args(["runs", "--format", "json"]));
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        runs.as_array()
            .unwrap()
            .iter()
            .find(|r| r["run_id"] == run_id)
            .map(|r| r["state"].as_str().unwrap().to_string())
            .unwrap_or_else(|| "absent".into())
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_failed_run_never_replaces_the_published_run() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    // Ratings with a header and nothing else: no mapped rating, checks fail.
    let ratings = lake.kaggle().join("ratings.csv");
    let good_ratings = std::fs::read(&ratings).unwrap();
    std::fs::write(&ratings, "userId,movieId,rating,timestamp\r\n").unwrap();
    let out = lake.run("empty").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the ratings file of staging run empty has no rows"),
        "{}",
        text(&out)
    );
    lake.assert_good_run_published("a run on empty ratings");

    // 10% of movie ids blank: staging's rejected fraction fails the run.
    std::fs::write(&ratings, &good_ratings).unwrap();
    let movies = lake.kaggle().join("movies_metadata.csv");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(&movies)
        .unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    for (i, record) in reader.records().enumerate() {
        let mut fields: Vec<String> = record.unwrap().iter().map(String::from).collect();
        if i > 0 && i % 10 == 0 {
            fields[5] = String::new();
        }
        writer.write_record(&fields).unwrap();
    }
    std::fs::write(&movies, writer.into_inner().unwrap()).unwrap();
    let out = lake.run("blank-ids").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("was not published"), "{}", text(&out));
    assert!(
        text(&out).contains("rejected_fraction movies"),
        "{}",
        text(&out)
    );
    assert_eq!(lake.state_of("blank-ids"), "failed");
    lake.assert_good_run_published("a run with 10% blank movie ids");
    // A failed run stays readable by its id, for diagnosis.
    let out = lake
        .ml()
        .args(["check", "--run-id", "blank-ids"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("rejected_fraction movies"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_earlier_good_run_can_be_published_again() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    // A second good run on other inputs (the CPI series cut to end in 2015).
    lake.cut_cpi_before_2016();
    run_ok(&mut lake.run("second"));
    assert_ne!(lake.answers(), lake.good_answers);
    assert_eq!(lake.state_of("good"), "passed");
    assert_eq!(lake.state_of("second"), "published");
    run_ok(lake.ml().args(["publish", "good"]));
    lake.assert_good_run_published("publishing the first run again");
    assert_eq!(lake.state_of("second"), "passed");
}

#[test]
fn runs_keep_their_own_inputs_and_unchanged_files_are_not_landed_again() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    let manifest = |run: &str| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(lake.root().join(format!("raw/runs/{run}/manifest.json"))).unwrap(),
        )
        .unwrap()
    };
    // Other ratings, same everything else.
    let ratings = lake.kaggle().join("ratings.csv");
    let text_ratings = std::fs::read_to_string(&ratings).unwrap();
    let half: String = text_ratings
        .lines()
        .take(50_000)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&ratings, half).unwrap();
    run_ok(&mut lake.run("half"));
    let (a, b) = (manifest("good"), manifest("half"));
    for role in ["movies", "links", "cpi"] {
        assert_eq!(a["inputs"][role]["key"], b["inputs"][role]["key"], "{role}");
        assert_eq!(
            b["inputs"][role]["uploaded"], false,
            "{role} was landed again"
        );
    }
    assert_ne!(a["inputs"]["ratings"]["key"], b["inputs"]["ratings"]["key"]);
    // The first run's ratings are still there, whole, for its lineage.
    let first = lake
        .root()
        .join(a["inputs"]["ratings"]["key"].as_str().unwrap());
    assert!(first.join("_COMPLETE").is_file());
    // Publishing the first run again: its report reads its own inputs.
    run_ok(lake.ml().args(["publish", "good"]));
    lake.assert_good_run_published("a run on other ratings");
    let report = lake.dir.path().join("report.html");
    run_ok(lake.ml().args(["report", "--out"]).arg(&report));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains(a["inputs"]["ratings"]["sha256"].as_str().unwrap()));
    assert!(!html.contains(b["inputs"]["ratings"]["sha256"].as_str().unwrap()));
}

#[test]
fn a_landing_stopped_half_way_is_redone_not_read() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    let ratings = lake.kaggle().join("ratings.csv");
    // Other content, so it lands in a new folder; a stopped landing left a
    // truncated part there and no _COMPLETE marker.
    let mut other = std::fs::read_to_string(&ratings).unwrap();
    other.push_str("1,31,4.0,1260759999\r\n");
    std::fs::write(&ratings, &other).unwrap();
    let sha = movielens::raw::sha256_file(&ratings).unwrap();
    let folder = lake.root().join(format!("raw/objects/{sha}/ratings"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("part-00000.csv"),
        "userId,movieId,rating,timestamp\r\n1,31,2.5,12",
    )
    .unwrap();
    run_ok(&mut lake.run("after-stop"));
    assert!(folder.join("_COMPLETE").is_file());
    let answers: serde_json::Value = serde_json::from_str(&lake.answers()).unwrap();
    let good: serde_json::Value = serde_json::from_str(&lake.good_answers).unwrap();
    assert_eq!(
        answers["highest_rated"]["rated_ratings"].as_u64().unwrap(),
        good["highest_rated"]["rated_ratings"].as_u64().unwrap() + 1,
        "the re-landed ratings are the whole file"
    );
}

#[test]
fn a_second_writer_is_refused_at_once_or_waits_with_wait() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    let first = lake
        .run("first")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first run holds the lock (the lock file names its pid).
    let lock = lake.root().join("_LOCK");
    let holder = format!(":{}\"", first.id());
    let started = Instant::now();
    while !std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .contains(&holder)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = lake.run("second").output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let message = text(&refused);
    assert!(
        message.contains("is being written by `movielens run`"),
        "{message}"
    );
    assert!(message.contains("--wait"), "{message}");
    let waited = lake.run("third").arg("--wait").output().unwrap();
    let mut first = first;
    assert!(first.wait().unwrap().success());
    assert!(waited.status.success(), "{}", text(&waited));
    assert_eq!(lake.state_of("first"), "passed");
    assert_eq!(lake.state_of("third"), "published");
    assert_eq!(lake.state_of("second"), "absent");
}

#[test]
fn unsafe_run_ids_are_refused_before_anything_is_written() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    for bad in ["..", ".", "", "a/b", "é", "x#y"] {
        let out = lake.run(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
        assert!(
            text(&out).contains("a run id is"),
            "{bad:?}: {}",
            text(&out)
        );
    }
    lake.assert_good_run_published("refused run ids");
}

#[test]
fn a_lake_path_with_url_syntax_characters_works() {
    let Some(shared) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake 100% #1?");
    let sample = shared.join("kaggle-sample");
    run_ok(
        movielens()
            .arg("--lake")
            .arg(&lake)
            .args(["run", "--ratings", "ratings_small.csv", "--input"])
            .arg(&sample)
            .arg("--cpi")
            .arg(shared.join("fred/CUSR0000SS62031.csv")),
    );
    run_ok(movielens().arg("--lake").arg(&lake).arg("answers"));
    run_ok(movielens().arg("--lake").arg(&lake).arg("check"));
}

#[test]
fn header_only_inputs_end_with_a_clear_error_not_a_hang() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    for (file, header) in [
        ("links.csv", "movieId,imdbId,tmdbId\r\n"),
        ("cpi.csv", "DATE,CUSR0000SS62031\n"),
    ] {
        let path = match file {
            "cpi.csv" => lake.dir.path().join(file),
            _ => lake.kaggle().join(file),
        };
        let saved = std::fs::read(&path).unwrap();
        std::fs::write(&path, header).unwrap();
        let started = Instant::now();
        let out = lake.run("header-only").output().unwrap();
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(out.status.code(), Some(1), "{file}: {}", text(&out));
        assert!(secs < 60.0, "{file}: took {secs:.0} s");
        let message = text(&out);
        assert!(message.contains("has no rows"), "{file}: {message}");
        std::fs::write(&path, saved).unwrap();
        lake.assert_good_run_published(&format!("a header-only {file}"));
    }
}

#[test]
fn sigterm_stops_a_run_within_seconds_and_leaves_no_temp_files() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    // Enough ratings that the transform is still running when the signal comes.
    let data = lake.dir.path().join("big");
    run_ok(
        movielens()
            .args(["generate", "--scale", "0.2", "--seed", "5", "--out"])
            .arg(&data),
    );
    let tmp = lake.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = lake
        .ml()
        .env("TMPDIR", &tmp)
        .args(["run", "--run-id", "stopped", "--input"])
        .arg(data.join("kaggle"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Signal once the transform has started.
    let staged = lake.root().join("staging/runs/stopped/_RUN.json");
    let started = Instant::now();
    while !staged.is_file() {
        assert!(started.elapsed() < Duration::from_secs(120), "never staged");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    send_signal(child.id(), "TERM");
    let status = child.wait().unwrap();
    let secs = signalled.elapsed().as_secs_f64();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(secs < 10.0, "exited {secs:.1} s after SIGTERM");
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
    lake.assert_good_run_published("a SIGTERMed run");
    // The lock went with it: the next run goes ahead.
    run_ok(&mut lake.run("next"));
}

/// `kill -SIG pid` (no libc dependency for one call).
fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// On S3 the lock is a lease: a second writer is refused naming the holder, a
/// released lease is free at once, and a lease whose holder died (it stopped
/// renewing) is taken over once it has expired, never before.
#[tokio::test(flavor = "multi_thread")]
async fn the_s3_lease_refuses_a_second_writer_and_expires_with_a_dead_holder() {
    use movielens::lock::{Holder, LockError, acquire};
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = common::S3::start(dir.path(), "lease-test") else {
        return;
    };
    let mut settings = movielens::config::Settings::load(None).unwrap();
    settings.lake = format!("s3://{}/lake", s3.bucket);
    settings.s3.endpoint = s3.endpoint.clone();
    settings.s3.allow_http = true;
    settings.s3.access_key_id = "testing".into();
    settings.s3.secret_access_key = movielens::config::Secret::new("testing-secret");
    let lake = movielens::lake::Lake::open(&settings).unwrap();

    let first = acquire(&lake, "run", false).await.unwrap();
    match acquire(&lake, "transform", false).await {
        Err(LockError::Held { holder, .. }) => {
            assert_eq!(holder.command, "run");
            assert!(holder.expires_at.is_some());
        }
        other => panic!("a second writer got {:?}", other.map(|_| "the lock")),
    }
    drop(first);
    let second = acquire(&lake, "transform", false).await.unwrap();
    drop(second);

    // A holder on another host that is still renewing: refused.
    let lease = |expires_at: chrono::DateTime<chrono::Utc>| Holder {
        owner: "bastion-2:4242".into(),
        command: "run".into(),
        since: "2026-12-01T00:00:00Z".into(),
        expires_at: Some(expires_at.to_rfc3339()),
    };
    let soon = chrono::Utc::now() + chrono::Duration::seconds(60);
    lake.write_json("_LOCK.json", &lease(soon)).await.unwrap();
    let refused = acquire(&lake, "run", false).await;
    assert!(
        matches!(&refused, Err(LockError::Held { holder, .. }) if holder.owner == "bastion-2:4242"),
        "a live lease was taken over"
    );
    let message = refused.err().unwrap().to_string();
    assert!(
        message.contains("bastion-2:4242") && message.contains("--wait"),
        "{message}"
    );
    // The same holder, dead for a minute: its lease has lapsed.
    let lapsed = chrono::Utc::now() - chrono::Duration::seconds(60);
    lake.write_json("_LOCK.json", &lease(lapsed)).await.unwrap();
    let taken = acquire(&lake, "run", false).await.unwrap();
    let now: Holder = lake.read_json("_LOCK.json").await.unwrap().unwrap();
    assert_ne!(now.owner, "bastion-2:4242");
    drop(taken);
    assert!(
        lake.read_json::<Holder>("_LOCK.json")
            .await
            .unwrap()
            .is_none()
    );

    // A takeover replaces only the lease it read: one changed since (another
    // writer took it over first) is left alone.
    lake.write_json("_LOCK.json", &lease(lapsed)).await.unwrap();
    let (_, read_at) = lake
        .read_json_versioned::<Holder>("_LOCK.json")
        .await
        .unwrap()
        .unwrap();
    lake.write_json("_LOCK.json", &lease(soon)).await.unwrap();
    let replaced = lake
        .put_if_version("_LOCK.json", b"{}".to_vec(), read_at)
        .await
        .unwrap();
    assert!(!replaced, "a lease changed since it was read was replaced");
    let kept: Holder = lake.read_json("_LOCK.json").await.unwrap().unwrap();
    assert_eq!(kept.expires_at, lease(soon).expires_at);
}

/// `run.deadline_secs` bounds a whole command: past it the command stops,
/// exits 1 saying so, and publishes nothing.
#[test]
fn a_run_past_its_deadline_stops_and_publishes_nothing() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    let started = Instant::now();
    let out = lake
        .run("late")
        .env("MOVIELENS_RUN__DEADLINE_SECS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("deadline of 1 s"), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(15));
    lake.assert_good_run_published("a run stopped by its deadline");
}

/// `run.keep_runs` keeps the newest runs and the published one, and deletes
/// the raw files only the pruned runs read.
#[test]
fn old_runs_and_the_raw_files_only_they_read_are_pruned() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    let ratings = lake.kaggle().join("ratings.csv");
    let full = std::fs::read_to_string(&ratings).unwrap();
    for (run, lines) in [("r2", 60_000), ("r3", 70_000)] {
        let part: String = full.lines().take(lines).map(|l| format!("{l}\n")).collect();
        std::fs::write(&ratings, part).unwrap();
        run_ok(&mut lake.run(run));
    }
    let objects = || {
        std::fs::read_dir(lake.root().join("raw/objects"))
            .unwrap()
            .count()
    };
    // movies, links, cpi and three ratings files.
    assert_eq!(objects(), 6);
    let out = run_ok(lake.ml().args(["prune", "--keep", "2"]));
    assert!(
        text(&out).contains("pruned 1 runs (good)"),
        "{}",
        text(&out)
    );
    assert_eq!(lake.state_of("good"), "absent");
    assert_eq!(lake.state_of("r2"), "passed");
    assert_eq!(lake.state_of("r3"), "published");
    assert_eq!(objects(), 5, "the first ratings file went with its run");
    run_ok(lake.ml().args(["publish", "r2"]));
    run_ok(
        lake.ml()
            .args(["report", "--out"])
            .arg(lake.dir.path().join("r2.html")),
    );
    // The published run is kept even when it is not among the newest.
    let out = run_ok(lake.ml().args(["prune", "--keep", "1"]));
    assert!(text(&out).contains("pruned 0 runs"), "{}", text(&out));
}

#[test]
fn runs_compare_tells_a_rerun_from_a_run_on_other_inputs() {
    let Some(shared) = shared_data() else { return };
    let lake = Lake::with_good_run(&shared);
    // The same inputs again: every table the same (row order and float
    // summation order may differ; the comparison ignores both).
    run_ok(&mut lake.run("again"));
    let same = run_ok(lake.ml().args(["runs", "--compare", "good", "again"]));
    let table = text(&same);
    assert!(table.contains("fact_rating"), "{table}");
    assert!(!table.contains(" NO"), "{table}");
    // The CPI series cut to end in 2015: the CPI tables and the real
    // earnings differ, the ratings do not.
    lake.cut_cpi_before_2016();
    run_ok(&mut lake.run("cut-cpi"));
    let out = lake
        .ml()
        .args(["runs", "--compare", "good", "cut-cpi", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let differing: Vec<&str> = report["differing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(differing.contains(&"dim_cpi"), "{differing:?}");
    assert!(differing.contains(&"genre_earnings_real"), "{differing:?}");
    assert!(!differing.contains(&"fact_rating"), "{differing:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("differ in"),
        "{}",
        text(&out)
    );
    // An unknown run is an error naming it.
    let out = lake
        .ml()
        .args(["runs", "--compare", "good", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("run nope has no curated tables"),
        "{}",
        text(&out)
    );
}
