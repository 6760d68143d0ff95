//! The Redshift load: Redshift itself reads the curated parquet from S3.
//!
//! For each table the loader writes a manifest next to the run
//! (`curated/runs/<run>/_redshift/<table>.manifest`; a parquet manifest must give
//! every file's `meta.content_length`), then in one transaction:
//!
//! ```sql
//! LOCK <schema>.loads;                               -- one load at a time
//! CREATE TEMP TABLE stage_<t> (<parquet-typed columns>);
//! COPY stage_<t> FROM 's3://…/<t>.manifest' IAM_ROLE '…' FORMAT AS PARQUET MANIFEST;
//! DELETE FROM <schema>.<t>;                          -- not TRUNCATE: it commits
//! INSERT INTO <schema>.<t> SELECT … FROM stage_<t>;
//! INSERT INTO <schema>.loads …;
//! ```
//!
//! Redshift's parquet COPY maps columns by position and cannot skip a bad row,
//! so the files' columns are checked against the schema first (see
//! [`super::check_columns`]). The statements are generated here and covered by
//! snapshot tests; running them needs a real Redshift cluster and AWS.

use std::time::Instant;

use tracing::info;

use super::connection::{Warehouse, literal, record_load_sql};
use super::schema::{ColumnType, Flavour, TABLES, Table, quote, quoted_list};
use super::{LoadSummary, Result, WarehouseError, checked_table, table_files};
use crate::lake::{Lake, Published, Zone};
use datafusion::prelude::SessionContext;

/// A Redshift COPY manifest for these (s3 URL, size) files.
pub fn manifest(files: &[(String, u64)]) -> String {
    let entries: Vec<serde_json::Value> = files
        .iter()
        .map(|(url, size)| {
            serde_json::json!({
                "url": url,
                "mandatory": true,
                "meta": { "content_length": size },
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "entries": entries }))
        .expect("a manifest serialises")
}

/// Where a table's manifest lives in the lake.
pub fn manifest_key(run_id: &str, table: &str) -> String {
    format!(
        "{}/_redshift/{table}.manifest",
        Lake::table_key(Zone::Curated, run_id, "").trim_end_matches('/')
    )
}

/// The staging table's column type: what the parquet file holds, so COPY
/// accepts it (a parquet DOUBLE does not load into NUMERIC directly).
fn stage_type(ty: ColumnType) -> String {
    match ty {
        ColumnType::Rating => "DOUBLE PRECISION".into(),
        ColumnType::Text(_) => "VARCHAR(65535)".into(),
        other => other.sql(Flavour::Redshift),
    }
}

/// The statements that load `table` from its manifest (inside the load's
/// transaction).
pub fn table_statements(
    schema: &str,
    table: &Table,
    manifest_url: &str,
    iam_role: &str,
) -> Vec<String> {
    let stage = format!("stage_{}", table.name);
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("    {} {}", quote(c.name), stage_type(c.ty)))
        .collect();
    let select: Vec<String> = table
        .columns
        .iter()
        .map(|c| match c.ty {
            ColumnType::Rating => format!("CAST({} AS NUMERIC(2,1))", quote(c.name)),
            _ => quote(c.name),
        })
        .collect();
    vec![
        format!("CREATE TEMP TABLE {stage} (\n{}\n)", columns.join(",\n")),
        format!(
            "COPY {stage} FROM {} IAM_ROLE {} FORMAT AS PARQUET MANIFEST",
            literal(manifest_url),
            literal(iam_role)
        ),
        format!("DELETE FROM {schema}.{}", table.name),
        format!(
            "INSERT INTO {schema}.{} ({})\nSELECT {} FROM {stage}",
            table.name,
            quoted_list(&table.column_names()),
            select.join(", ")
        ),
        format!("DROP TABLE {stage}"),
    ]
}

/// The load transaction's first statements: the lock, and for a warehouse at
/// another schema version (`found`) its tables replaced and the version
/// recorded (`record_version`), so the next load over an unchanged schema
/// neither drops nor recreates a table: analysts' views and grants stay.
pub fn schema_statements(
    schema: &str,
    found: Option<i32>,
    record_version: Vec<String>,
) -> Vec<String> {
    let mut statements = vec![format!("LOCK {schema}.loads")];
    if found != Some(super::schema::SCHEMA_VERSION) {
        for table in TABLES {
            statements.push(format!("DROP TABLE IF EXISTS {schema}.{}", table.name));
            statements.push(table.create(Flavour::Redshift, schema, false));
        }
        statements.extend(record_version);
    }
    statements
}

/// Loads the published curated run into Redshift.
pub async fn load(
    wh: &mut Warehouse,
    lake: &Lake,
    ctx: &SessionContext,
    curated: &Published,
    iam_role: &str,
) -> Result<LoadSummary> {
    if !lake.root().starts_with("s3://") {
        return Err(WarehouseError::RedshiftNeedsS3 {
            lake: lake.root().into(),
        });
    }
    if iam_role.is_empty() {
        return Err(WarehouseError::RedshiftNeedsRole);
    }
    let started = Instant::now();
    let found = wh.ensure_schema().await?;
    let schema = wh.schema.clone();
    let mut statements = schema_statements(&schema, found, wh.record_version_sql());
    let mut summary = LoadSummary {
        run_id: curated.run_id.clone(),
        tables: Vec::new(),
        seconds: 0.0,
    };
    for table in TABLES {
        let files = table_files(lake, curated, table).await?;
        // Check the columns before Redshift sees the files.
        checked_table(ctx, curated, table).await?;
        let urls: Vec<(String, u64)> = files.iter().map(|(k, s)| (lake.url(k), *s)).collect();
        let key = manifest_key(&curated.run_id, table.name);
        lake.put(&key, manifest(&urls).into_bytes()).await?;
        statements.extend(table_statements(&schema, table, &lake.url(&key), iam_role));
        let rows = curated.tables.get(table.name).copied().unwrap_or(0);
        summary.tables.push((table.name, rows, 0.0));
    }
    let staging_run = curated
        .inputs
        .get("staging_run")
        .cloned()
        .unwrap_or_default();
    statements.push(record_load_sql(
        &schema,
        &curated.run_id,
        &staging_run,
        summary.rows(),
        started.elapsed().as_secs_f64(),
    ));
    info!(
        statements = statements.len(),
        "running the Redshift load transaction"
    );
    wh.in_transaction(&statements).await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::assert_snapshot;
    use crate::warehouse::schema::table;

    #[test]
    fn manifest_gives_every_file_its_content_length() {
        let m = manifest(&[
            (
                "s3://lake/p/curated/runs/r1/fact_rating/shard-000.parquet".into(),
                1234,
            ),
            (
                "s3://lake/p/curated/runs/r1/fact_rating/shard-001.parquet".into(),
                99,
            ),
        ]);
        let v: serde_json::Value = serde_json::from_str(&m).unwrap();
        let entries = v["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["meta"]["content_length"], 1234);
        assert_eq!(
            entries[1]["url"],
            "s3://lake/p/curated/runs/r1/fact_rating/shard-001.parquet"
        );
        assert_eq!(entries[1]["mandatory"], true);
        assert_eq!(
            manifest_key("r1", "fact_rating"),
            "curated/runs/r1/_redshift/fact_rating.manifest"
        );
    }

    #[test]
    fn a_load_over_the_current_schema_drops_nothing_and_a_new_schema_is_recorded() {
        let version = vec!["RECORD VERSION".to_string()];
        let current = schema_statements(
            "movielens",
            Some(crate::warehouse::schema::SCHEMA_VERSION),
            version.clone(),
        );
        assert_eq!(current, ["LOCK movielens.loads"]);
        for older in [None, Some(crate::warehouse::schema::SCHEMA_VERSION - 1)] {
            let replaced = schema_statements("movielens", older, version.clone());
            let drops = replaced
                .iter()
                .filter(|s| s.starts_with("DROP TABLE"))
                .count();
            assert_eq!(drops, TABLES.len(), "{older:?}");
            assert_eq!(replaced.last().unwrap(), "RECORD VERSION", "{older:?}");
        }
    }

    /// Every statement of one whole load over a warehouse at an older schema
    /// version, as the transaction runs them. CI parses this snapshot with
    /// sqlfluff's Redshift grammar (tests/deploy/redshift_parse.sh).
    #[test]
    fn a_whole_load_over_an_older_schema_matches_the_reviewed_snapshot() {
        let role = "arn:aws:iam::123456789012:role/movielens-redshift-copy";
        let schema = "movielens";
        let mut sql = vec!["BEGIN".to_string()];
        sql.extend(schema_statements(
            schema,
            Some(crate::warehouse::schema::SCHEMA_VERSION - 1),
            crate::warehouse::connection::record_version_statements(schema),
        ));
        for t in TABLES {
            let url = format!("s3://lake/p/{}", manifest_key("r1", t.name));
            sql.extend(table_statements(schema, t, &url, role));
        }
        sql.push(crate::warehouse::connection::record_load_sql_at(
            schema,
            "r1",
            "r1",
            123,
            4.5,
            "2026-12-01 00:00:00",
        ));
        sql.push("COMMIT".into());
        assert_snapshot("redshift_full_load.sql", &(sql.join(";\n\n") + ";\n"));
    }

    #[test]
    fn load_statements_match_the_reviewed_snapshot() {
        let role = "arn:aws:iam::123456789012:role/movielens-redshift-copy";
        let mut sql = Vec::new();
        for name in ["fact_rating", "dim_movie"] {
            let url = format!("s3://lake/p/{}", manifest_key("r1", name));
            sql.extend(table_statements(
                "movielens",
                table(name).unwrap(),
                &url,
                role,
            ));
        }
        assert_snapshot("redshift_load.sql", &(sql.join(";\n\n") + ";\n"));
    }
}
