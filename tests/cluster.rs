//! The distributed path with real processes: our scheduler and executor
//! binaries on loopback, the lake on S3 (moto_server), compared with the
//! embedded engine; a lost executor; a scheduler that is not there.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    S3, Service, assert_same, free_port, free_ports, movielens, run_ok, wait_for_service,
};
use movielens::config::Settings;
use movielens::fingerprint::TableFingerprint;
use movielens::lake::Lake;

fn sibling_binary(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_movielens")).with_file_name(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace` before the tests",
        path.display()
    );
    path
}

/// A scheduler and executors as separate processes, killed on drop.
struct Cluster {
    port: u16,
    /// Where the services' logs are, for failure messages.
    dir: std::path::PathBuf,
    _scheduler: Service,
    executors: Vec<Service>,
    /// Each executor's Prometheus port.
    metrics_ports: Vec<u16>,
}

impl Cluster {
    fn start(dir: &Path, env: &[(String, String)], executors: usize) -> Self {
        Self::start_with_vcores(dir, env, executors, 1)
    }

    fn start_with_vcores(
        dir: &Path,
        env: &[(String, String)],
        executors: usize,
        vcores: usize,
    ) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let mut ports = free_ports(1 + 3 * executors).into_iter();
        let port = ports.next().unwrap();
        let mut cmd = Command::new(sibling_binary("movielens-scheduler"));
        cmd.args(["--bind-host", "127.0.0.1", "--port", &port.to_string()])
            .envs(env.iter().cloned());
        let scheduler = Service::spawn("scheduler", &mut cmd, &dir.join("scheduler.log"));
        wait_for_service(port, 30, "movielens-scheduler", &dir.join("scheduler.log"));
        let mut metrics_ports = Vec::new();
        let executors = (0..executors)
            .map(|i| {
                let (flight, grpc, metrics) = (
                    ports.next().unwrap(),
                    ports.next().unwrap(),
                    ports.next().unwrap(),
                );
                metrics_ports.push(metrics);
                let mut cmd = Command::new(sibling_binary("movielens-executor"));
                cmd.args([
                    "--scheduler",
                    &format!("127.0.0.1:{port}"),
                    "--port",
                    &flight.to_string(),
                ])
                .args([
                    "--external-host",
                    "127.0.0.1",
                    "--vcores",
                    &vcores.to_string(),
                    "--memory-mb",
                    "1024",
                ])
                .arg("--work-dir")
                .arg(dir.join(format!("executor-{i}")))
                .env("MOVIELENS_CLUSTER__BIND_HOST", "127.0.0.1")
                .args(["--grpc-port", &grpc.to_string()])
                .args(["--metrics-port", &metrics.to_string()])
                .envs(env.iter().cloned());
                let service = Service::spawn(
                    &format!("executor-{i}"),
                    &mut cmd,
                    &dir.join(format!("executor-{i}.log")),
                );
                wait_for_service(
                    flight,
                    30,
                    "movielens-executor",
                    &dir.join(format!("executor-{i}.log")),
                );
                service
            })
            .collect();
        Self {
            port,
            dir: dir.to_path_buf(),
            _scheduler: scheduler,
            executors,
            metrics_ports,
        }
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    /// The last lines of the scheduler's and every executor's log: the test's
    /// directory is gone once a failed test has unwound.
    fn log_tails(&self) -> String {
        let mut names = vec!["scheduler.log".to_string()];
        names.extend((0..self.executors.len()).map(|i| format!("executor-{i}.log")));
        names
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                format!("--- {name} (last 40 lines)\n{tail}\n")
            })
            .collect()
    }
}

fn settings_from(env: &[(String, String)]) -> Settings {
    let mut s = Settings::load(None).unwrap();
    for (k, v) in env {
        match k.as_str() {
            "MOVIELENS_LAKE" => s.lake = v.clone(),
            "MOVIELENS_S3__ENDPOINT" => s.s3.endpoint = v.clone(),
            "MOVIELENS_S3__ALLOW_HTTP" => s.s3.allow_http = v == "true",
            "MOVIELENS_S3__ACCESS_KEY_ID" => s.s3.access_key_id = v.clone(),
            "MOVIELENS_S3__SECRET_ACCESS_KEY" => {
                s.s3.secret_access_key = movielens::config::Secret::new(v)
            }
            _ => {}
        }
    }
    s
}

/// Every table of a curated run by name, as its content fingerprint: row
/// count and an order-independent digest (floats to 10 significant digits:
/// partial sums may arrive in another order on a cluster).
async fn run_contents(settings: &Settings, run_id: &str) -> BTreeMap<String, TableFingerprint> {
    let lake = Lake::open(settings).unwrap();
    movielens::fingerprint::of_run(&lake, run_id).await.unwrap()
}

fn generate(dir: &Path, scale: &str) -> PathBuf {
    let data = dir.join("data");
    run_ok(
        movielens()
            .args(["generate", "--scale", scale, "--seed", "5", "--out"])
            .arg(&data),
    );
    data.join("kaggle")
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_on_s3_gives_the_same_tables_as_the_embedded_engine() {
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3::start(dir.path(), "lake-test") else {
        return;
    };
    let kaggle = generate(dir.path(), "0.003");
    let env = s3.env("movielens");
    let cluster = Cluster::start(dir.path(), &env, 2);

    let run = |run_id: &str, scheduler: Option<String>| {
        let mut cmd = movielens();
        cmd.envs(env.iter().cloned())
            .args(["run", "--format", "json", "--run-id", run_id, "--input"])
            .arg(&kaggle);
        if let Some(url) = scheduler {
            // On the cluster, land ratings in small parts and write fact_rating
            // as 3 concurrent shards; the embedded run uses one of each.
            cmd.args(["--scheduler", &url])
                .env("MOVIELENS_ENGINE__RATINGS_PART_BYTES", "100000")
                .env("MOVIELENS_ENGINE__FACT_WRITE_SHARDS", "3");
        }
        run_ok(&mut cmd)
    };
    let on_cluster = run("on-cluster", Some(cluster.url()));
    let settings = settings_from(&env);
    let cluster_tables = run_contents(&settings, "on-cluster").await;
    let embedded = run("embedded", None);
    let embedded_tables = run_contents(&settings, "embedded").await;

    let answers =
        |out: &std::process::Output| serde_json::from_slice(&out.stdout).expect("answers JSON");
    assert_same(&answers(&on_cluster), &answers(&embedded));
    assert_eq!(cluster_tables.len(), movielens::transform::steps().count());
    for ((t1, rows1), (t2, rows2)) in cluster_tables.iter().zip(&embedded_tables) {
        assert_eq!(t1, t2);
        assert!(rows1.rows > 0, "{t1} is empty");
        assert_eq!(
            rows1, rows2,
            "table {t1} differs between cluster and embedded"
        );
    }
    // Nothing was written outside the bucket: the lake is S3 only.
    assert!(!Path::new("movielens").exists());
}

#[test]
fn unreachable_scheduler_fails_fast_with_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("df://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let out = movielens()
        .args([
            "--lake",
            dir.path().to_str().unwrap(),
            "transform",
            "--scheduler",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&url) && err.contains("cluster.sh up"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

/// Starts `movielens run` on the cluster and SIGKILLs executor 0 `delay` after
/// the run logs that it is writing `table`; returns the run's log.
fn run_killing_executor_during(
    cluster: &mut Cluster,
    env: &[(String, String)],
    kaggle: &Path,
    run_id: &str,
    table: &str,
    delay: Duration,
) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = movielens()
        .envs(env.iter().cloned())
        .args([
            "--log-format",
            "json",
            "run",
            "--format",
            "json",
            "--run-id",
            run_id,
            "--scheduler",
            &cluster.url(),
            "--input",
        ])
        .arg(kaggle)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A hung run must fail the test, not hang CI.
    let watched = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(240));
        let _ = Command::new("kill").args(["-9", &watched]).status();
    });
    let mut log = String::new();
    let mut killed = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if !killed
            && line.contains("\"writing\"")
            && line.contains(&format!("\"table\":\"{table}\""))
        {
            let pid = cluster.executors[0].child.id().to_string();
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let _ = Command::new("kill").args(["-9", &pid]).status();
            });
            killed = true;
        }
        log.push_str(&line);
        log.push('\n');
    }
    let status = child.wait().unwrap();
    assert!(killed, "the run never wrote {table}:\n{log}");
    assert!(
        status.success(),
        "run failed after an executor was killed during {table}:\n{log}\n{}",
        cluster.log_tails()
    );
    log
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_executor_does_not_lose_the_run_or_change_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3::start(dir.path(), "lake-kill") else {
        return;
    };
    let kaggle = generate(dir.path(), "0.01");
    let mut env = s3.env("movielens");
    // Short timeouts so a dead executor is noticed in seconds, not minutes.
    env.push(("MOVIELENS_CLUSTER__HEARTBEAT_SECS".into(), "1".into()));
    env.push((
        "MOVIELENS_CLUSTER__EXECUTOR_TIMEOUT_SECS".into(),
        "6".into(),
    ));
    env.push(("MOVIELENS_ENGINE__RETRY_BACKOFF_MS".into(), "500".into()));
    // Ballista can stall a job after a mid-shuffle loss; the run abandons and
    // re-submits a step that takes this long (they take ~1 s here).
    env.push(("MOVIELENS_ENGINE__STEP_TIMEOUT_SECS".into(), "30".into()));
    // On one host a reader would take a dead executor's shuffle files from disk.
    env.push((
        "MOVIELENS_ENGINE__FORCE_REMOTE_SHUFFLE_READ".into(),
        "true".into(),
    ));
    let settings = settings_from(&env);

    run_ok(
        movielens()
            .envs(env.iter().cloned())
            .args(["run", "--run-id", "reference", "--input"])
            .arg(&kaggle),
    );
    let reference = run_contents(&settings, "reference").await;

    // Before its tasks start, during the map side (the fact table's scan and
    // join), during shuffle reads (the genre mart joins and aggregates
    // shuffled facts), and during the per-id CSV pass, which runs alongside
    // the fact shards (two steps at once).
    let points = [
        ("fact_rating", 0),
        ("fact_rating", 400),
        ("genre_popularity", 150),
        ("ratings_by_movielens_id", 300),
    ];
    for (n, (table, ms)) in points.into_iter().enumerate() {
        // Four slots per executor. Seen with one slot, and once (of about
        // eight runs) with two: after the loss, Ballista 55 rolled a stage
        // back, aborted tasks on the surviving executor, and no task ran
        // there again, so every step and its re-submissions timed out. That
        // fits the slot leak of upstream #2418 (an aborted task's vcores never
        // come back). A fleet's executors have several slots.
        let mut cluster = Cluster::start_with_vcores(&dir.path().join(format!("c{n}")), &env, 2, 4);
        let run_id = format!("killed-during-{table}-{ms}ms");
        let started = Instant::now();
        let log = run_killing_executor_during(
            &mut cluster,
            &env,
            &kaggle,
            &run_id,
            table,
            Duration::from_millis(ms),
        );
        let retries = log.lines().filter(|l| l.contains("re-submitting")).count();
        eprintln!(
            "executor killed {ms} ms into {table}: run finished in {:?}, {retries} step re-submissions",
            started.elapsed()
        );
        let got = run_contents(&settings, &run_id).await;
        for ((t, rows), (_, want)) in got.iter().zip(&reference) {
            assert_eq!(
                rows, want,
                "table {t} differs after executor loss during {table}"
            );
        }
    }
}

#[test]
fn a_run_killed_midway_leaves_the_published_tables_readable() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let kaggle = generate(dir.path(), "0.003");
    let lake_arg = lake.to_str().unwrap();
    run_ok(
        movielens()
            .args(["--lake", lake_arg, "run", "--run-id", "good", "--input"])
            .arg(&kaggle),
    );
    let before =
        run_ok(movielens().args(["--lake", lake_arg, "answers", "--format", "json"])).stdout;

    let mut child = movielens()
        .args([
            "--lake",
            lake_arg,
            "--log-format",
            "json",
            "run",
            "--run-id",
            "doomed",
            "--input",
        ])
        .arg(&kaggle)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        if line.unwrap().contains("\"table\":\"rating_mapping\"") {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();

    let pointer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("curated/_CURRENT.json")).unwrap())
            .unwrap();
    assert_eq!(pointer["run_id"], "good");
    let after =
        run_ok(movielens().args(["--lake", lake_arg, "answers", "--format", "json"])).stdout;
    assert_eq!(before, after);
}

/// The value of `name` in a Prometheus text page (0 when absent).
fn metric(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn scrape(url: &str) -> String {
    let out = Command::new("curl").args(["-sf", url]).output().unwrap();
    assert!(out.status.success(), "GET {url} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// What ops see and steer: the scheduler's and executors' metrics scraped by
/// address during a run, `cluster status` listing both executors and the
/// running job, a job cancelled with `cluster cancel` ending promptly, and
/// its slots free for the next run (Ballista #2418 reports slots leaking
/// after a cancel under push-staged scheduling: the next run would stall).
#[tokio::test(flavor = "multi_thread")]
async fn cluster_status_metrics_and_cancel_leave_the_slots_free() {
    let dir = tempfile::tempdir().unwrap();
    let Some(s3) = S3::start(dir.path(), "lake-ops") else {
        return;
    };
    let kaggle = generate(dir.path(), "0.05");
    let env = s3.env("movielens");
    let cluster = Cluster::start_with_vcores(dir.path(), &env, 2, 2);
    let api = movielens::engine::api::Api::for_scheduler(&cluster.url());
    let ml_cluster = |args: &[&str]| {
        movielens()
            .args(["cluster", "--scheduler", &cluster.url()])
            .args(args)
            .output()
            .unwrap()
    };
    let executor_pages = || -> Vec<String> {
        cluster
            .metrics_ports
            .iter()
            .map(|p| scrape(&format!("http://127.0.0.1:{p}/metrics")))
            .collect()
    };
    let run = |run_id: &str| {
        movielens()
            .envs(env.iter().cloned())
            .args(["run", "--format", "json", "--run-id", run_id])
            .args(["--scheduler", &cluster.url(), "--input"])
            .arg(&kaggle)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };

    let mut first = run("first");
    // Cancel the first job seen running; one that ends before the cancel
    // arrives is refused ("not cancelled"), so try the next.
    let started = Instant::now();
    let (mut cancelled, mut status_text, mut busiest) = (None, String::new(), 0.0f64);
    let mut names_seen = std::collections::BTreeSet::new();
    while cancelled.is_none() && started.elapsed() < Duration::from_secs(180) {
        for page in executor_pages() {
            busiest = busiest.max(metric(&page, "movielens_executor_running_tasks"));
        }
        let jobs = api.jobs().await.unwrap();
        for job in jobs.iter().filter(|j| j["status"] == "Running") {
            names_seen.insert(job["job_name"].as_str().unwrap_or_default().to_string());
        }
        let Some(job) = jobs.iter().find(|j| j["status"] == "Running") else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let id = job["job_id"].as_str().unwrap().to_string();
        let status = ml_cluster(&["status"]);
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let text = String::from_utf8_lossy(&status.stdout).to_string();
        let out = ml_cluster(&["cancel", &id]);
        if out.status.success() {
            let asked = Instant::now();
            // Cancelled promptly: the scheduler no longer runs it.
            loop {
                let job = api.get(&format!("/job/{id}")).await.unwrap();
                if job["status"] != "Running" {
                    break;
                }
                assert!(
                    asked.elapsed() < Duration::from_secs(10),
                    "job {id} still running 10 s after cancel"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            eprintln!(
                "job {id} stopped {:.2} s after cancel",
                asked.elapsed().as_secs_f64()
            );
            cancelled = Some(id);
            status_text = text;
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("not cancelled"), "{err}");
        }
    }
    let cancelled = cancelled.expect("no running job could be cancelled within 180 s");
    assert!(
        status_text.contains(": 2 executors, 4 task slots"),
        "{status_text}"
    );
    assert_eq!(
        status_text.matches("  executor ").count(),
        2,
        "{status_text}"
    );
    assert!(status_text.contains("running jobs: "), "{status_text}");
    // Each step's jobs carry its name, which is how progress is per step.
    let steps: Vec<&str> = movielens::transform::steps().map(|s| s.table).collect();
    assert!(
        names_seen.iter().any(|n| steps.contains(&n.as_str())),
        "no running job was named after a step: {names_seen:?}"
    );
    assert!(
        steps
            .iter()
            .any(|t| status_text.contains(&format!("({t})"))),
        "cluster status names no step: {status_text}"
    );
    // The run re-submits the cancelled step (or fails it); either way it
    // ends. The executors are scraped meanwhile.
    let ending = Instant::now();
    while first.try_wait().unwrap().is_none() {
        assert!(
            ending.elapsed() < Duration::from_secs(300),
            "the first run never ended"
        );
        for page in executor_pages() {
            busiest = busiest.max(metric(&page, "movielens_executor_running_tasks"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(busiest >= 1.0, "no executor ever reported a running task");

    // The slots are free: nothing runs, and a whole run completes.
    let idle = Instant::now();
    while executor_pages()
        .iter()
        .any(|p| metric(p, "movielens_executor_running_tasks") > 0.0)
    {
        assert!(
            idle.elapsed() < Duration::from_secs(30),
            "tasks still running 30 s after the run ended"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut second = run("second");
    let watched = second.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(300));
        let _ = Command::new("kill").args(["-9", &watched]).status();
    });
    let status = second.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(second.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        status.success(),
        "the run after cancelling {cancelled} failed (slots leaked?):\n{err}\n{}",
        cluster.log_tails()
    );

    let scheduler = scrape(&format!("http://127.0.0.1:{}/api/metrics", cluster.port));
    assert!(
        metric(&scheduler, "job_cancelled_total") >= 1.0,
        "{scheduler}"
    );
    assert!(
        metric(&scheduler, "job_completed_total") > 10.0,
        "{scheduler}"
    );
    assert!(
        metric(&scheduler, "job_submitted_total") >= metric(&scheduler, "job_completed_total"),
        "{scheduler}"
    );
    let pages = executor_pages();
    let done: f64 = pages
        .iter()
        .map(|p| metric(p, "movielens_executor_tasks_completed_total"))
        .sum();
    assert!(done > 10.0, "{pages:?}");
    for page in &pages {
        assert_eq!(metric(page, "movielens_executor_up"), 1.0);
        assert_eq!(metric(page, "movielens_executor_task_slots"), 2.0);
    }
}
