//! The catalogue of models (`warehouse::schema::TABLES`: SQL step, columns,
//! key, and for a mart its checks) is the list the transform, the warehouse,
//! the checks and the benchmark read; these tests fail when a SQL file, the
//! answers' reader or a bench script goes its own way.

use std::collections::BTreeSet;

use movielens::checks::marts::{expected_rows_sql, value_rules};
use movielens::warehouse::schema::{TABLES, Table};

fn names<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
    items.into_iter().collect()
}

fn marts() -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(|t| t.is_mart())
}

#[test]
fn every_model_has_its_own_sql_file_in_its_layer() {
    let steps = names(movielens::transform::steps().map(|s| s.table));
    assert_eq!(steps, names(TABLES.iter().map(|t| t.name)));
    for t in TABLES {
        assert_eq!(t.step.table, t.name);
        let layer = if t.is_mart() { "marts" } else { "curated" };
        assert_eq!(t.step.file, format!("jobs/sql/{layer}/{}.sql", t.name));
    }
    // Every SQL file is a model, or the definition of a side table.
    let side = |layer: &str, name: &str| {
        let file = format!("jobs/sql/{layer}/{name}");
        movielens::transform::SIDE_TABLES
            .iter()
            .any(|t| t.file == file)
    };
    for layer in ["curated", "marts"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sql")
            .join(layer);
        for f in std::fs::read_dir(&dir).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            if side(layer, &name) {
                continue;
            }
            let (model, params) = match name.strip_suffix(".params.sql") {
                Some(model) => (model, true),
                None => (name.trim_end_matches(".sql"), false),
            };
            let entry = TABLES.iter().find(|t| t.name == model);
            assert!(
                entry.is_some(),
                "jobs/sql/{layer}/{name} is in no catalogue entry"
            );
            if params {
                assert!(
                    entry.unwrap().step.params_sql.is_some(),
                    "jobs/sql/{layer}/{name}: its model's step!(…, params) is missing"
                );
            }
        }
    }
}

#[test]
fn every_mart_declares_its_row_count_check_and_a_value_rule() {
    for mart in marts() {
        assert!(
            expected_rows_sql(mart, 10).is_some(),
            "{}: no expected rows in its catalogue entry",
            mart.name
        );
        assert!(
            value_rules().any(|(name, _)| name.ends_with(&format!(" {}", mart.name))),
            "{}: no value rule in its catalogue entry",
            mart.name
        );
    }
}

#[test]
fn the_answers_read_every_mart() {
    let reader = include_str!("../jobs/src/answers/mod.rs");
    for mart in marts() {
        assert!(
            reader.contains(&format!("FROM {}", mart.name)),
            "{}: answers/mod.rs never reads it",
            mart.name
        );
    }
}

/// The benchmark reads its marts and their inputs from `movielens models
/// --json`, which lists the catalogue, so it compares every mart.
#[test]
fn the_benchmark_reads_its_models_from_the_catalogue() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_movielens"))
        .args(["models", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let models: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<(&str, bool, &str)> = models
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["mart"].as_bool().unwrap(),
                m["file"].as_str().unwrap(),
            )
        })
        .collect();
    let catalogue: Vec<(&str, bool, &str)> = TABLES
        .iter()
        .map(|t| (t.name, t.is_mart(), t.step.file))
        .collect();
    assert_eq!(listed, catalogue);
    for (script, source) in [
        ("bench/bench.py", include_str!("../bench/bench.py")),
        ("bench/peers.py", include_str!("../bench/peers.py")),
    ] {
        assert!(
            source.contains("models"),
            "{script} does not read the catalogue"
        );
        for mart in marts() {
            assert!(
                !source.contains(&format!("\"{}\"", mart.name)),
                "{script} names the mart {} itself",
                mart.name
            );
        }
    }
}
