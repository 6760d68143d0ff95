//! The lists of what exists must agree. Today the models are declared in
//! several places (the transform's steps, the warehouse schema, the checks,
//! the answers' reader, the benchmark scripts); this test fails when one of
//! them names a table the others do not, e.g. a mart added to the transform
//! but not to the warehouse, which would be neither loaded nor checked.

use std::collections::BTreeSet;

use movielens::checks::marts::{VALUE_RULES, expected_rows_sql};
use movielens::transform::{CURATED, MARTS};
use movielens::warehouse::schema::TABLES;

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

#[test]
fn every_transform_step_is_a_warehouse_table_and_back() {
    let steps = names(CURATED.iter().chain(MARTS.iter()).map(|s| s.table));
    let tables = names(TABLES.iter().map(|t| t.name));
    assert_eq!(
        steps, tables,
        "transform steps (left) and warehouse/schema.rs TABLES (right) differ"
    );
    for step in CURATED.iter().chain(MARTS.iter()) {
        assert!(
            step.file.ends_with(&format!("/{}.sql", step.table)),
            "{}: one .sql file per table, named after it",
            step.file
        );
    }
}

#[test]
fn every_mart_has_its_row_count_check_and_a_value_rule() {
    for mart in MARTS {
        assert!(
            expected_rows_sql(mart.table, 10).is_some(),
            "{}: no `mart_rows` expectation in checks/marts.rs",
            mart.table
        );
        assert!(
            VALUE_RULES
                .iter()
                .any(|(name, _)| name.ends_with(&format!(" {}", mart.table)))
                || mart.table == "cpi_window",
            "{}: no value rule in checks/marts.rs",
            mart.table
        );
    }
}

#[test]
fn the_answers_read_every_mart() {
    let reader = include_str!("../jobs/src/answers/mod.rs");
    for mart in MARTS {
        assert!(
            reader.contains(&format!("FROM {}", mart.table)),
            "{}: answers/mod.rs never reads it",
            mart.table
        );
    }
}

#[test]
fn the_benchmark_compares_every_mart() {
    let marts: BTreeSet<String> = MARTS.iter().map(|m| m.table.to_string()).collect();
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
