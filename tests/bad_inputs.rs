//! Inputs that must not become answers, and valid inputs that must not fail.
//!
//! Each case edits a copy of the real sample the way a broken download or a
//! hand-edited file would, runs `movielens run` as a user does, and asserts
//! one of two outcomes: the bad value is rejected with its file and line (and
//! the answers stay right), or the run's checks fail naming the input. Never
//! a wrong answer with exit 0. The other way round, a legitimately empty mart
//! passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{movielens, shared_data};

/// A copy of the real sample (movies, links, ratings_small as ratings.csv, the
/// CPI series) that a case then edits.
struct Sample {
    dir: tempfile::TempDir,
}

impl Sample {
    fn new(shared: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        common::copy_sample(shared, dir.path());
        Self { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        match file {
            "cpi.csv" => self.dir.path().join(file),
            _ => self.dir.path().join("kaggle").join(file),
        }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).unwrap()
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.path(file), text).unwrap();
    }

    /// Rewrites `file` line by line: `edit` gets each line after the header
    /// (its index in the file, the header's being 0, and the line without its
    /// line end) and returns what replaces it.
    fn edit_lines(&self, file: &str, mut edit: impl FnMut(usize, &str) -> String) {
        let text = self.read(file);
        let mut lines = text.lines();
        let mut out = format!("{}\n", lines.next().unwrap_or(""));
        for (i, line) in lines.enumerate() {
            out += &edit(i + 1, line.trim_end_matches('\r'));
            out.push('\n');
        }
        self.write(file, &out);
    }

    /// Rewrites movies_metadata.csv record by record (the csv crate keeps
    /// quoted line breaks intact); `edit` returns false to drop a record.
    fn edit_movies(&self, mut edit: impl FnMut(&mut Vec<String>) -> bool) {
        let path = self.path("movies_metadata.csv");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&path)
            .unwrap();
        let mut out = csv::Writer::from_writer(Vec::new());
        for (i, record) in reader.records().enumerate() {
            let mut fields: Vec<String> = record.unwrap().iter().map(String::from).collect();
            if i == 0 || edit(&mut fields) {
                out.write_record(&fields).unwrap();
            }
        }
        std::fs::write(&path, out.into_inner().unwrap()).unwrap();
    }

    /// `movielens run` on this copy, answers as JSON, into a lake of its own.
    fn run(&self) -> Output {
        movielens()
            .arg("--lake")
            .arg(self.dir.path().join("lake"))
            .args(["run", "--format", "json", "--input"])
            .arg(self.dir.path().join("kaggle"))
            .arg("--cpi")
            .arg(self.path("cpi.csv"))
            .output()
            .unwrap()
    }

    fn lake(&self) -> PathBuf {
        self.dir.path().join("lake")
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn answers(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("answers are not JSON ({e}):\n{}", stderr(out)))
}

/// The check's line in the report, asserting it has `result` (PASS or FAIL).
fn assert_check(out: &Output, check: &str, result: &str) {
    // `run` reports the checks on stderr, `check` on stdout.
    let err = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(out));
    let line = err
        .lines()
        .find(|l| l.split("  ").next().map(str::trim) == Some(check))
        .unwrap_or_else(|| panic!("no line for check {check}:\n{err}"));
    assert!(
        line.contains(result),
        "{check} is not {result}:\n{line}\n{err}"
    );
}

/// The command failed its checks: exit 1, no answers printed, and `check` FAILs.
fn assert_fails_check(out: &Output, check: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert!(
        stderr(out).contains("data-quality checks failed"),
        "{}",
        stderr(out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("\"highest_rated\""),
        "answers printed despite failed checks"
    );
    assert_check(out, check, "FAIL");
}

/// `sql` over the parquet table in `dir`, registered as `t`.
fn query_dir(dir: &Path, sql: &str) -> Vec<arrow::array::RecordBatch> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_parquet("t", dir.to_str().unwrap(), Default::default())
            .await
            .unwrap();
        ctx.sql(sql).await.unwrap().collect().await.unwrap()
    })
}

/// The rejects of the run's staging (file, line, action, reason, detail), via
/// the library's reader of the lake.
fn rejects(lake: &Path) -> Vec<(String, u64, String, String, String)> {
    use arrow::array::AsArray;
    let current: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("staging/_CURRENT.json")).unwrap())
            .unwrap();
    let run = current["run_id"].as_str().unwrap();
    let dir = lake.join(format!("staging/runs/{run}/rejects/"));
    let sql = "SELECT file, CAST(line AS BIGINT), action, reason, detail FROM t ORDER BY 2";
    let batches = query_dir(&dir, sql);
    let mut out = Vec::new();
    for b in batches {
        let text = |c: usize| {
            arrow::compute::cast(b.column(c), &arrow::datatypes::DataType::Utf8).unwrap()
        };
        let columns: Vec<_> = (0..5).map(text).collect();
        let s = |c: usize, i: usize| columns[c].as_string::<i32>().value(i).to_string();
        let lines = b.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            out.push((s(0, i), lines.value(i) as u64, s(2, i), s(3, i), s(4, i)));
        }
    }
    out
}

fn reject_on(lake: &Path, file: &str, reason: &str) -> (u64, String) {
    let all = rejects(lake);
    all.iter()
        .find(|r| r.0 == file && r.3 == reason)
        .map(|r| (r.1, r.4.clone()))
        .unwrap_or_else(|| panic!("no {reason} reject for {file}: {all:?}"))
}

/// Only movies released before the CPI series starts (1999): nothing can be
/// deflated, so genre_earnings_real is rightly empty and the run succeeds.
#[test]
fn movies_before_the_cpi_series_leave_real_earnings_rightly_empty() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    let date = 14; // release_date
    sample.edit_movies(|f| f[date].as_str() < "1999-01-01");
    let out = sample.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let a = answers(&out);
    assert_eq!(a["genre_earnings_real"]["genres"], serde_json::json!([]));
    assert!(
        a["genre_earnings_real"]["movies_before_cpi_window"]
            .as_u64()
            .unwrap()
            > 100
    );
    assert_check(&out, "mart_rows genre_earnings_real", "PASS");
    assert!(a["highest_rated"]["min_ratings"].as_f64().unwrap() >= 1.0);
}

/// A revenue beyond any film's (and beyond i64) is rejected with its line, and
/// December's total stays the sum of the real revenues.
#[test]
fn impossible_revenue_is_rejected_not_clamped() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    let baseline = answers(&Sample::new(&shared).run());
    let (revenue, date, id) = (15, 14, 5);
    let mut edited = None;
    sample.edit_movies(|f| {
        if edited.is_none() && f[date].get(5..7) == Some("12") && f[revenue] != "0" {
            edited = Some(f[id].clone());
            f[revenue] = "99999999999999999999".into();
        }
        true
    });
    let out = sample.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let (line, detail) = reject_on(&sample.lake(), "movies_metadata.csv", "implausible_value");
    assert!(line > 1, "{line}");
    assert!(detail.contains("revenue"), "{detail}");
    assert!(
        detail.contains(&format!("id {}", edited.unwrap())),
        "{detail}"
    );
    let december = |a: &serde_json::Value| {
        a["box_office_by_month"][11]["total_revenue"]
            .as_i64()
            .unwrap()
    };
    let after = answers(&out);
    assert!(december(&after) > 0);
    assert!(
        december(&after) < december(&baseline),
        "the edited movie no longer counts"
    );
}

/// A CPI of 0 in the last month is no index value: rejected with its line, and
/// the base month is the month before (real revenues stay positive).
#[test]
fn zero_cpi_is_rejected_and_the_base_month_moves_back() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    let mut cpi = sample.read("cpi.csv");
    cpi = cpi.replace("2022-04-01,204.389", "2022-04-01,0");
    sample.write("cpi.csv", &cpi);
    let out = sample.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let (line, _) = reject_on(&sample.lake(), "cpi.csv", "implausible_value");
    assert_eq!(line, cpi.lines().count() as u64);
    let a = answers(&out);
    assert_eq!(a["genre_earnings_real"]["cpi_base_month"], "2022-03");
    for g in a["genre_earnings_real"]["genres"].as_array().unwrap() {
        assert!(g["revenue_real"].as_f64().unwrap() > 0.0, "{g}");
    }
}

/// Half of all ratings invalid: the ratings' rejected fraction fails the run.
#[test]
fn half_the_ratings_invalid_fails_the_rejected_fraction() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    sample.edit_lines("ratings.csv", |i, line| {
        if i % 2 == 0 {
            // A rating of 7 stars.
            let f: Vec<&str> = line.split(',').collect();
            format!("{},{},7.0,{}", f[0], f[1], f[3])
        } else {
            line.to_string()
        }
    });
    assert_fails_check(&sample.run(), "rejected_fraction ratings");
}

/// Millisecond timestamps are outside the ratings' plausible span (1995 to
/// the staging time): counted invalid and gated, not a cast error.
#[test]
fn millisecond_timestamps_are_invalid_ratings_not_a_crash() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    sample.edit_lines("ratings.csv", |_, line| format!("{line}000"));
    let run = sample.run();
    assert!(!stderr(&run).contains("Cannot cast"), "{}", stderr(&run));
    assert_fails_check(&run, "rejected_fraction ratings");
}

/// The same ratings twice (a part landed twice, a file concatenated with
/// itself) would double every count: the duplicate check fails the run.
#[test]
fn ratings_given_twice_fail_the_duplicate_check() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    let text = sample.read("ratings.csv");
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    sample.write("ratings.csv", &format!("{text}{body}"));
    assert_fails_check(&sample.run(), "duplicate_ratings fact_rating");
}

/// rating_mapping's (outcome, ratings) of the lake's last curated run,
/// published or not.
fn rating_mapping(lake: &Path) -> Vec<(String, i64)> {
    use arrow::array::AsArray;
    let mut runs: Vec<_> = std::fs::read_dir(lake.join("curated/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    let dir = runs.last().expect("a curated run").join("rating_mapping/");
    let batches = query_dir(
        &dir,
        "SELECT outcome, CAST(n_ratings AS BIGINT) FROM t ORDER BY 1",
    );
    let mut out = Vec::new();
    for b in batches {
        let text = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        let text = text.as_string::<i32>();
        let outcomes = (0..b.num_rows()).map(|i| text.value(i).to_string());
        let n = b.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        for (i, outcome) in outcomes.into_iter().enumerate() {
            out.push((outcome, n.value(i)));
        }
    }
    out
}

/// No link reaches a movie: the fact's join never reads the ratings (its
/// other side is empty), so its scans write no per-id sums and no users'
/// genre masks; the transform runs ratings_per_file.sql and
/// user_genre_masks.sql over each shard's parts instead, and every rating is
/// still accounted for (as tmdb_id_not_in_metadata), none mapped.
#[test]
fn ratings_reaching_no_movie_are_still_all_counted() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    // Every TMDB id moved far past the metadata's; an empty one stays empty.
    sample.edit_lines("links.csv", |_, line| {
        let f: Vec<&str> = line.split(',').collect();
        match f[2].parse::<i64>() {
            Ok(tmdb) => format!("{},{},{}", f[0], f[1], tmdb + 900_000_000),
            Err(_) => line.to_string(),
        }
    });
    let run = sample.run();
    assert!(
        !run.status.success(),
        "a run with no fact rows must fail its checks"
    );
    for side in ["ratings_per_file", "user_genre_masks"] {
        let fallback = format!(
            "no {side} from the fact's scan; running jobs/sql/curated/{side}.sql over the \
             shard's parts"
        );
        assert!(stderr(&run).contains(&fallback), "{}", stderr(&run));
    }
    let ratings = sample.read("ratings.csv").lines().skip(1).count() as i64;
    let mapping = rating_mapping(&sample.lake());
    assert_eq!(
        mapping.iter().map(|m| m.1).sum::<i64>(),
        ratings,
        "{mapping:?}"
    );
    assert!(mapping.iter().all(|m| m.0 != "mapped"), "{mapping:?}");
    assert!(
        mapping
            .iter()
            .any(|m| m.0 == "tmdb_id_not_in_metadata" && m.1 > 0),
        "{mapping:?}"
    );
}

/// A genres literal nested ~19,300 deep used to overflow the parser's stack
/// (abort, exit 134). Now that record's genres are rejected with its line.
#[test]
fn deeply_nested_genres_are_rejected_not_a_crash() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    let genres = 3;
    let mut first = true;
    sample.edit_movies(|f| {
        if std::mem::take(&mut first) {
            f[genres] = "[".repeat(19_300) + &"]".repeat(19_300);
        }
        true
    });
    let out = sample.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let (line, detail) = reject_on(&sample.lake(), "movies_metadata.csv", "bad_genres");
    assert_eq!(line, 2, "{detail}");
    assert!(detail.contains("nested deeper than"), "{detail}");
}

/// A tmdbId written as an exponent is not read as another movie's id.
#[test]
fn exponent_ids_are_rejected() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    let links =
        sample
            .read("links.csv")
            .replacen("\r\n2,0113497,8844\r\n", "\r\n2,0113497,8.844e3\r\n", 1);
    sample.write("links.csv", &links);
    let out = sample.run();
    assert!(out.status.success(), "{}", stderr(&out));
    let (line, detail) = reject_on(&sample.lake(), "links.csv", "bad_value");
    assert_eq!(line, 3);
    assert!(detail.contains("8.844e3"), "{detail}");
}

/// Rewrites one curated table of the published run through `edit` (a defect
/// seeded in the lake, where `check` without a warehouse looks).
fn seed_defect(
    lake: &Path,
    table: &str,
    edit: impl Fn(arrow::array::RecordBatch) -> arrow::array::RecordBatch,
) {
    let current: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lake.join("curated/_CURRENT.json")).unwrap())
            .unwrap();
    let dir = lake.join(format!(
        "curated/runs/{}/{table}",
        current["run_id"].as_str().unwrap()
    ));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = std::fs::File::open(&path).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<_> = reader.map(|b| edit(b.unwrap())).collect();
        let schema = batches[0].schema();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            schema,
            None,
        )
        .unwrap();
        for b in &batches {
            writer.write(b).unwrap();
        }
        writer.close().unwrap();
    }
}

fn check(lake: &Path) -> Output {
    movielens()
        .arg("--lake")
        .arg(lake)
        .arg("check")
        .output()
        .unwrap()
}

/// Each new check fails on its seeded defect in the lake, and `answers` names
/// the NULL it meets instead of failing on a missing field.
#[test]
fn lake_checks_fail_on_seeded_defects_and_answers_name_the_null() {
    use arrow::array::{Array, Float64Array, RecordBatch};
    use std::sync::Arc;
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    assert!(sample.run().status.success());
    let lake = sample.lake();

    let replace = |name: &'static str, value: Option<f64>| {
        move |b: RecordBatch| {
            let i = b.schema().index_of(name).unwrap();
            let mut columns = b.columns().to_vec();
            columns[i] = Arc::new(Float64Array::from(vec![value; b.num_rows()])) as Arc<dyn Array>;
            RecordBatch::try_new(b.schema(), columns).unwrap()
        }
    };
    // The NULLs a 364k-movie catalogue used to give.
    seed_defect(&lake, "highest_rated", replace("weighted_rating", None));
    let out = check(&lake);
    assert_fails_check(&out, "value_present highest_rated.weighted_rating");
    let out = movielens()
        .arg("--lake")
        .arg(&lake)
        .arg("answers")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    for part in [
        "highest_rated",
        "weighted_rating",
        "movielens check",
        "of run 2",
    ] {
        assert!(err.contains(part), "{part:?} not in: {err}");
    }
    // A weighted rating outside its two means.
    seed_defect(
        &lake,
        "highest_rated",
        replace("weighted_rating", Some(9.0)),
    );
    assert_fails_check(&check(&lake), "weighted_rating_between_means highest_rated");
    // A mart emptied although its inputs give it rows.
    seed_defect(&lake, "genre_popularity", |b| b.slice(0, 0));
    assert_fails_check(&check(&lake), "mart_rows genre_popularity");
}

/// A ratings file with CR-only line ends has no line break at all: the run
/// fails at once naming the file and what is wrong, without echoing the
/// file (the error used to be megabytes, repeated per retry).
#[test]
fn cr_only_ratings_fail_in_a_readable_line() {
    let Some(shared) = shared_data() else { return };
    let sample = Sample::new(&shared);
    let text = sample.read("ratings.csv").replace("\r\n", "\r");
    sample.write("ratings.csv", &text);
    let started = std::time::Instant::now();
    let out = sample.run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.len() < 64 * 1024, "{} bytes of stderr", err.len());
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        line.contains("ratings file") && line.contains("LF or CRLF"),
        "{line}"
    );
    assert!(
        line.chars().count() <= 2100,
        "{} characters",
        line.chars().count()
    );
    assert!(started.elapsed().as_secs() < 60);
}
