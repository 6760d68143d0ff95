//! The catalogue of models (`warehouse::schema::TABLES`: SQL step, columns,
//! key, mart or not) is the list the transform and the warehouse read; what
//! still names models on its own (the marts' checks, the answers' reader, the
//! benchmark scripts) must agree with it, or a mart would be neither checked
//! nor compared.

use std::collections::BTreeSet;

use movielens::checks::marts::{VALUE_RULES, expected_rows_sql};
use movielens::warehouse::schema::{TABLES, Table};

fn names<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
    items.into_iter().collect()
}

/// Names in a Python list literal `NAME = [...]` of a bench script.
fn python_list(source: &str, name: &str) -> BTreeSet<String> {
    let start = source
        .find(&format!("{name} = ["))
        .unwrap_or_else(|| panic!("no {name} list"));
    let body = &source[start..source[start..].find(']').unwrap() + start];
    body.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn marts() -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(|t| t.is_mart)
}

#[test]
fn every_model_has_its_own_sql_file_in_its_layer() {
    let steps = names(movielens::transform::steps().map(|s| s.table));
    assert_eq!(steps, names(TABLES.iter().map(|t| t.name)));
    for t in TABLES {
        assert_eq!(t.step.table, t.name);
        let layer = if t.is_mart { "marts" } else { "curated" };
        assert_eq!(t.step.file, format!("jobs/sql/{layer}/{}.sql", t.name));
    }
    // Every SQL file is a model.
    for layer in ["curated", "marts"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sql")
            .join(layer);
        for f in std::fs::read_dir(&dir).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            let model = name.trim_end_matches(".sql");
            assert!(
                TABLES.iter().any(|t| t.name == model),
                "jobs/sql/{layer}/{name} is in no catalogue entry"
            );
        }
    }
}

#[test]
fn every_mart_has_its_row_count_check_and_a_value_rule() {
    for mart in marts() {
        assert!(
            expected_rows_sql(mart.name, 10).is_some(),
            "{}: no `mart_rows` expectation in checks/marts.rs",
            mart.name
        );
        assert!(
            VALUE_RULES
                .iter()
                .any(|(name, _)| name.ends_with(&format!(" {}", mart.name))),
            "{}: no value rule in checks/marts.rs",
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

#[test]
fn the_benchmark_compares_every_mart() {
    let marts: BTreeSet<String> = marts().map(|m| m.name.to_string()).collect();
    let bench = python_list(include_str!("../bench/bench.py"), "MARTS");
    assert_eq!(bench, marts, "bench/bench.py MARTS");
    let peers = include_str!("../bench/peers.py");
    let start = peers.find("STEPS = [").unwrap();
    let body = &peers[start..start + peers[start..].find("\n]").unwrap()];
    let peer_marts: BTreeSet<String> = body
        .lines()
        .filter(|l| l.contains("\"marts\""))
        .filter_map(|l| l.split('"').nth(1).map(str::to_string))
        .collect();
    assert_eq!(peer_marts, marts, "bench/peers.py STEPS (marts)");
}
