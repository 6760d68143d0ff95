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
//! [`super::check_columns`]), and so are text widths: Redshift's VARCHAR(n)
//! holds n bytes, and one longer value would fail the whole COPY late; the load
//! refuses it up front, naming the row ([`super::check_text_widths`]).
//!
//! The statements are snapshot-tested and parsed by sqlfluff's Redshift
//! grammar; the transaction itself runs against PostgreSQL in the tests with
//! its COPY steps replaced by a stream of the same rows ([`CopyFrom::Stream`]):
//! only COPY's S3 read and the Redshift-only DDL clauses need a real cluster.

use std::time::Instant;

use tracing::info;

use super::connection::{Warehouse, literal, record_load_sql};
use super::schema::{ColumnType, Flavour, TABLES, Table, quote, quoted_list};
use super::{LoadSummary, Result, WarehouseError, check_text_widths, checked_table, table_files};
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

fn stage_name(table: &Table) -> String {
    format!("stage_{}", table.name)
}

/// One statement of the load transaction. COPY is kept apart: on Redshift it
/// is SQL reading S3; the rehearsal on PostgreSQL fills the same staging table
/// through `COPY … FROM STDIN` instead, so every other statement runs as is.
#[derive(Debug, Clone)]
pub enum Step {
    Sql(String),
    Copy {
        table: &'static Table,
        manifest_url: String,
    },
}

/// Where the transaction's COPY steps take the rows from.
#[derive(Debug, Clone, Copy)]
pub enum CopyFrom<'a> {
    /// Redshift reads the manifest's parquet files from S3, assuming this role.
    S3 { iam_role: &'a str },
    /// The rehearsal: the curated parquet streamed from the lake into the
    /// staging table over the PostgreSQL protocol.
    Stream,
}

/// Redshift's COPY of a table's manifest into its staging table.
pub fn copy_sql(table: &Table, manifest_url: &str, iam_role: &str) -> String {
    format!(
        "COPY {} FROM {} IAM_ROLE {} FORMAT AS PARQUET MANIFEST",
        stage_name(table),
        literal(manifest_url),
        literal(iam_role)
    )
}

/// The steps that load `table` from its manifest (inside the load's
/// transaction): a typed staging table, COPY, DELETE + INSERT, drop.
pub fn table_steps(schema: &str, table: &'static Table, manifest_url: &str) -> Vec<Step> {
    let stage = stage_name(table);
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
        Step::Sql(format!(
            "CREATE TEMP TABLE {stage} (\n{}\n)",
            columns.join(",\n")
        )),
        Step::Copy {
            table,
            manifest_url: manifest_url.into(),
        },
        Step::Sql(format!("DELETE FROM {schema}.{}", table.name)),
        Step::Sql(format!(
            "INSERT INTO {schema}.{} ({})\nSELECT {} FROM {stage}",
            table.name,
            quoted_list(&table.column_names()),
            select.join(", ")
        )),
        Step::Sql(format!("DROP TABLE {stage}")),
    ]
}

/// The statements of [`table_steps`] as Redshift runs them.
pub fn table_statements(
    schema: &str,
    table: &'static Table,
    manifest_url: &str,
    iam_role: &str,
) -> Vec<String> {
    table_steps(schema, table, manifest_url)
        .into_iter()
        .map(|step| match step {
            Step::Sql(sql) => sql,
            Step::Copy {
                table,
                manifest_url,
            } => copy_sql(table, &manifest_url, iam_role),
        })
        .collect()
}

/// The load transaction's first statements: the lock, and for a warehouse at
/// another schema version (`found`) its tables replaced (DDL of `flavour`:
/// Redshift's, or PostgreSQL's in the rehearsal) and the version recorded
/// (`record_version`), so the next load over an unchanged schema neither drops
/// nor recreates a table: analysts' views and grants stay.
pub fn schema_statements(
    schema: &str,
    found: Option<i32>,
    record_version: Vec<String>,
    flavour: Flavour,
) -> Vec<String> {
    let mut statements = vec![format!("LOCK {schema}.loads")];
    if found != Some(super::schema::SCHEMA_VERSION) {
        for table in TABLES {
            statements.push(format!("DROP TABLE IF EXISTS {schema}.{}", table.name));
            statements.push(table.create(flavour, schema, false));
        }
        statements.extend(record_version);
    }
    statements
}

/// Loads the published curated run with the Redshift load transaction; on
/// Redshift with `CopyFrom::S3`, on PostgreSQL with `CopyFrom::Stream`.
/// Nothing runs before every table's columns and text widths are checked.
pub async fn load(
    wh: &mut Warehouse,
    lake: &Lake,
    ctx: &SessionContext,
    curated: &Published,
    copy: CopyFrom<'_>,
) -> Result<LoadSummary> {
    if let CopyFrom::S3 { iam_role } = copy {
        if !lake.root().starts_with("s3://") {
            return Err(WarehouseError::RedshiftNeedsS3 {
                lake: lake.root().into(),
            });
        }
        if iam_role.is_empty() {
            return Err(WarehouseError::RedshiftNeedsRole);
        }
    }
    let started = Instant::now();
    let mut summary = LoadSummary {
        run_id: curated.run_id.clone(),
        tables: Vec::new(),
        seconds: 0.0,
    };
    let mut table_steps_all = Vec::new();
    for table in TABLES {
        let files = table_files(lake, curated, table).await?;
        // Check the files before Redshift sees them: COPY maps columns by
        // position, and one value too wide for its VARCHAR fails it late.
        checked_table(ctx, curated, table).await?;
        check_text_widths(ctx, curated, table).await?;
        let key = manifest_key(&curated.run_id, table.name);
        if let CopyFrom::S3 { .. } = copy {
            let urls: Vec<(String, u64)> = files.iter().map(|(k, s)| (lake.url(k), *s)).collect();
            lake.put(&key, manifest(&urls).into_bytes()).await?;
        }
        table_steps_all.extend(table_steps(&wh.schema, table, &lake.url(&key)));
        let rows = curated.tables.get(table.name).copied().unwrap_or(0);
        summary.tables.push((table.name, rows, 0.0));
    }
    let found = wh.ensure_schema().await?;
    let schema = wh.schema.clone();
    let mut steps: Vec<Step> =
        schema_statements(&schema, found, wh.record_version_sql(), wh.flavour)
            .into_iter()
            .map(Step::Sql)
            .collect();
    steps.extend(table_steps_all);
    let staging_run = curated
        .inputs
        .get("staging_run")
        .cloned()
        .unwrap_or_default();
    steps.push(Step::Sql(record_load_sql(
        &schema,
        &curated.run_id,
        &staging_run,
        summary.rows(),
        started.elapsed().as_secs_f64(),
    )));
    info!(
        steps = steps.len(),
        copy = match copy {
            CopyFrom::S3 { .. } => "s3",
            CopyFrom::Stream => "stream",
        },
        "running the Redshift load transaction"
    );
    wh.transaction(&steps, async |wh, step| {
        run_step(wh, ctx, curated, copy, step).await
    })
    .await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn run_step(
    wh: &mut Warehouse,
    ctx: &SessionContext,
    curated: &Published,
    copy: CopyFrom<'_>,
    step: &Step,
) -> Result<()> {
    match (step, copy) {
        (Step::Sql(sql), _) => wh.execute(sql).await,
        (
            Step::Copy {
                table,
                manifest_url,
            },
            CopyFrom::S3 { iam_role },
        ) => wh.execute(&copy_sql(table, manifest_url, iam_role)).await,
        (Step::Copy { table, .. }, CopyFrom::Stream) => {
            let sql = format!(
                "COPY {} ({}) FROM STDIN WITH (FORMAT csv)",
                stage_name(table),
                quoted_list(&table.column_names())
            );
            super::postgres::copy_table(wh, ctx, curated, table, &sql)
                .await
                .map(|_| ())
        }
    }
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
            Flavour::Redshift,
        );
        assert_eq!(current, ["LOCK movielens.loads"]);
        for older in [None, Some(crate::warehouse::schema::SCHEMA_VERSION - 1)] {
            let replaced =
                schema_statements("movielens", older, version.clone(), Flavour::Redshift);
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
            Flavour::Redshift,
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
