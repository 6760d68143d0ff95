//! The `movielens` command line as a user meets it: config layering, the
//! embedded default run, reruns, and errors that say what to do.

mod common;

use common::{movielens, run_ok};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn config_layers_file_env_and_flags_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("movielens.toml");
    std::fs::write(
        &file,
        "lake = \"/from/file\"\n[answers]\ntop_n = 7\n[s3]\nsecret_access_key = \"file-secret\"\n",
    )
    .unwrap();
    let out = run_ok(
        movielens()
            .arg("--config")
            .arg(&file)
            .args(["config"])
            .env("MOVIELENS_ANSWERS__TOP_N", "12")
            .env(
                "MOVIELENS_WAREHOUSE__URL",
                "postgres://etl:pa55word@db/warehouse",
            ),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("lake = \"/from/file\""), "{text}");
    assert!(
        text.contains("top_n = 12"),
        "env must win over the file: {text}"
    );
    assert!(
        !text.contains("file-secret") && !text.contains("pa55word"),
        "{text}"
    );
    assert!(text.contains("****"));

    let out = run_ok(
        movielens()
            .arg("--config")
            .arg(&file)
            .args(["--lake", "s3://b/p", "config"]),
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("lake = \"s3://b/p\"")
    );
}

#[test]
fn bad_config_value_fails_naming_key_and_value() {
    let out = movielens()
        .args(["config"])
        .env("MOVIELENS_WAREHOUSE__KIND", "oracle")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("warehouse.kind") && err.contains("oracle"),
        "{err}"
    );
}

#[test]
fn answers_before_any_run_says_what_to_do() {
    let lake = tempfile::tempdir().unwrap();
    let out = movielens()
        .args(["--lake", lake.path().to_str().unwrap(), "answers"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("movielens transform"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_input_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = movielens()
        .args([
            "--lake",
            dir.path().join("lake").to_str().unwrap(),
            "run",
            "--input",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("CUSR0000SS62031.csv") && err.contains("--cpi"),
        "{err}"
    );
}

#[test]
fn run_with_no_input_generates_says_so_and_reruns_replace_not_append() {
    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    let run = |run_id: &str| {
        run_ok(
            movielens()
                .args([
                    "--lake", lake_arg, "run", "--format", "json", "--run-id", run_id,
                ])
                .env("MOVIELENS_GENERATE__SCALE", "0.002"),
        )
    };
    let first = run("r1");
    assert!(
        stderr(&first).contains("ratings mapped"),
        "the run reports what became of the ratings: {}",
        stderr(&first)
    );
    assert!(
        stderr(&first).contains("no --input given: generating scale 0.002"),
        "{}",
        stderr(&first)
    );
    let answers: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(
        answers["highest_rated"]["movies"].as_array().unwrap().len(),
        10
    );
    let pointer = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(lake.path().join("curated/_CURRENT.json")).unwrap())
            .unwrap()
    };
    let tables_first = pointer()["tables"].clone();
    assert!(tables_first["fact_rating"].as_u64().unwrap() > 10_000);

    // Same run id again: same tables, same row counts, same answers.
    let again = run("r1");
    assert_eq!(pointer()["tables"], tables_first);
    assert_eq!(first.stdout, again.stdout);
    let files = std::fs::read_dir(lake.path().join("curated/runs/r1/fact_rating"))
        .unwrap()
        .count();
    let again_files = {
        run("r1");
        std::fs::read_dir(lake.path().join("curated/runs/r1/fact_rating"))
            .unwrap()
            .count()
    };
    assert_eq!(files, again_files, "a rerun must not add files to a table");

    // A new run id publishes a new run; the old one stays on disk.
    run("r2");
    assert_eq!(pointer()["run_id"], "r2");
    assert!(lake.path().join("curated/runs/r1/fact_rating").is_dir());
}

#[test]
fn malformed_rating_lines_are_counted_as_invalid_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(
        movielens()
            .args(["generate", "--scale", "0.002", "--seed", "3", "--out"])
            .arg(&data),
    );
    // Five bad lines at the end of the ratings file: an empty user, a rating
    // out of range, a quarter star, a user that is not a number, a fifth field.
    let ratings = data.join("kaggle").join("ratings.csv");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&ratings)
        .unwrap();
    std::io::Write::write_all(
        &mut file,
        b"1,,3.0,5\r\n2,10,7.0,5\r\n3,10,2.25,5\r\nabc,10,3.0,5\r\n1,2,3.0,4,5\r\n",
    )
    .unwrap();
    let lake = dir.path().join("lake");
    let out = run_ok(
        movielens()
            .arg("--lake")
            .arg(&lake)
            .args(["run", "--run-id", "bad-lines", "--input"])
            .arg(data.join("kaggle")),
    );
    let err = stderr(&out);
    let invalid = err
        .lines()
        .find(|l| l.starts_with("ratings invalid_rating"))
        .unwrap_or_else(|| panic!("no invalid_rating outcome reported:\n{err}"));
    assert_eq!(
        invalid.split_whitespace().nth(2),
        Some("5"),
        "all five bad lines, and only they, are invalid: {invalid}"
    );
}

#[test]
fn human_logs_off_a_terminal_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // stderr is a pipe here, as in a log file or an Airflow task log.
    let out = run_ok(
        movielens()
            .arg("--lake")
            .arg(&lake)
            .args(["--log-format", "human", "run"]),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run started"), "{err}");
    assert!(!err.contains('\u{1b}'), "ANSI escape in piped logs:\n{err}");
}
