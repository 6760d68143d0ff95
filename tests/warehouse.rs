//! The warehouse against a real PostgreSQL 15 on 127.0.0.1 (started by
//! `tests/servers/postgres.sh`, which `.ci/run` calls): load, compare every table
//! with the lake, reload, kill a load midway, refuse a second load, hide the
//! password, and show every data-quality check failing on a seeded defect.
//!
//! Each test works in a database of its own, dropped at the end.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use arrow::util::display::{ArrayFormatter, FormatOptions};
use common::{loud, movielens, run_ok};
use movielens::lake::Lake;
use movielens::warehouse::schema::{ColumnType, TABLES};
use sqlx::{Connection, PgConnection, Row};

/// How the tests reach Postgres (a role that may create databases).
fn admin_url() -> String {
    std::env::var("MOVIELENS_TEST_POSTGRES").unwrap_or_else(|_| {
        "postgres://movielens_test:movielens_test@127.0.0.1:5432/postgres".into()
    })
}

/// A fresh database for one test; dropped when this is dropped.
struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// None (loudly) when Postgres is not reachable outside CI; in CI that is a failure.
    async fn create(tag: &str) -> Option<Self> {
        let admin = admin_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                loud(&format!(
                    "SKIPPING: PostgreSQL not reachable at {} ({e}); run tests/servers/postgres.sh",
                    movielens::warehouse::mask_url(&admin)
                ));
                return None;
            }
            Err(e) => panic!("PostgreSQL not reachable in CI: {e}"),
        };
        let name = format!("mlt_{tag}_{}", std::process::id());
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Some(Self {
            name,
            url: url.to_string(),
        })
    }

    async fn conn(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.unwrap()
    }

    /// Environment pointing movielens at this database.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MOVIELENS_WAREHOUSE__KIND", "postgres".into()),
            ("MOVIELENS_WAREHOUSE__URL", self.url.clone()),
        ]
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = admin_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            })
        })
        .join();
    }
}

/// `movielens` on `lake` with the warehouse env and a tiny generated dataset.
fn ml(lake: &Path, db: &TestDb) -> Command {
    let mut cmd = movielens();
    cmd.arg("--lake")
        .arg(lake)
        .envs(db.env())
        .env("MOVIELENS_GENERATE__SCALE", "0.002");
    cmd
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One value as both sides print it: floats by value, timestamps with a space.
fn normalise(value: Option<String>, ty: ColumnType) -> String {
    match value {
        None => "<NULL>".into(),
        Some(v) => match ty {
            ColumnType::Double | ColumnType::Rating => format!("{:?}", v.parse::<f64>().unwrap()),
            ColumnType::Timestamp => v.replace('T', " "),
            _ => v,
        },
    }
}

/// Every row of a warehouse table, normalised and sorted.
async fn warehouse_rows(
    conn: &mut PgConnection,
    table: &movielens::warehouse::schema::Table,
) -> Vec<Vec<String>> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("CAST(\"{}\" AS TEXT)", c.name))
        .collect();
    let sql = format!(
        "SELECT {} FROM movielens.{}",
        columns.join(", "),
        table.name
    );
    let mut rows: Vec<Vec<String>> = sqlx::query(&sql)
        .fetch_all(conn)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| normalise(r.get::<Option<String>, _>(i), c.ty))
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

/// Every row of the lake's published curated table, normalised and sorted.
async fn lake_rows(lake: &Path, table: &movielens::warehouse::schema::Table) -> Vec<Vec<String>> {
    let mut settings = movielens::config::Settings::load(None).unwrap();
    settings.lake = lake.display().to_string();
    let lake = Lake::open(&settings).unwrap();
    let (ctx, _) =
        movielens::transform::local_curated_context(&lake, movielens::transform::Which::Published)
            .await
            .unwrap();
    let batches = ctx
        .table(table.name)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    for b in &batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for i in 0..b.num_rows() {
            rows.push(
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        let v =
                            (!b.column(j).is_null(i)).then(|| formatters[j].value(i).to_string());
                        normalise(v, c.ty)
                    })
                    .collect(),
            );
        }
    }
    rows.sort();
    rows
}

async fn loaded_runs(db: &TestDb) -> Vec<String> {
    let mut c = db.conn().await;
    sqlx::query_scalar("SELECT run_id FROM movielens.loads ORDER BY loaded_at, run_id")
        .fetch_all(&mut c)
        .await
        .unwrap()
}

async fn schema_version(db: &TestDb) -> i32 {
    let mut c = db.conn().await;
    sqlx::query_scalar("SELECT max(version) FROM movielens.schema_version")
        .fetch_one(&mut c)
        .await
        .unwrap()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let mut c = db.conn().await;
    sqlx::query_scalar(&format!("SELECT count(*) FROM movielens.{table}"))
        .fetch_one(&mut c)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn load_equals_the_lake_table_by_table_and_reloading_changes_nothing() {
    let Some(db) = TestDb::create("equal").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // `run` with a warehouse configured: stage → transform → load → check.
    let out = run_ok(ml(&lake, &db).arg("run"));
    let log = text(&out);
    assert!(log.contains("warehouse holds run"), "{log}");
    assert!(
        log.contains("data-quality checks on warehouse postgres://movielens_test:****@"),
        "{log}"
    );

    let mut conn = db.conn().await;
    let mut first = Vec::new();
    for table in TABLES {
        let wh = warehouse_rows(&mut conn, table).await;
        let lk = lake_rows(&lake, table).await;
        assert!(!wh.is_empty(), "{} is empty", table.name);
        assert_eq!(wh.len(), lk.len(), "{}: row count", table.name);
        assert!(
            wh == lk,
            "{}: warehouse rows differ from the lake",
            table.name
        );
        first.push(wh);
    }
    // Half stars survive (the old system stored ratings as integers).
    let halves: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM movielens.fact_rating WHERE rating <> round(rating)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(halves > 0);

    // Loading the same run again: same tables, no duplicates, two loads recorded.
    run_ok(ml(&lake, &db).arg("load"));
    for (table, before) in TABLES.iter().zip(&first) {
        assert!(
            &warehouse_rows(&mut conn, table).await == before,
            "{} changed on reload",
            table.name
        );
    }
    let runs = loaded_runs(&db).await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0], runs[1]);
    run_ok(ml(&lake, &db).arg("check"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_load_leaves_the_previous_tables_and_a_second_load_is_refused() {
    let Some(db) = TestDb::create("kill").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    run_ok(ml(&lake, &db).arg("run").args(["--run-id", "first"]));
    let facts_first = count(&db, "fact_rating").await;
    let movies_first = count(&db, "dim_movie").await;

    // A second, larger run; its load is killed while fact_rating streams in.
    run_ok(
        ml(&lake, &db)
            .env("MOVIELENS_GENERATE__SCALE", "0.01")
            .env("MOVIELENS_WAREHOUSE__KIND", "none")
            .args(["run", "--run-id", "second"]),
    );
    // As if the warehouse had been built by an older schema version: the
    // killed load must not have dropped its tables either.
    let mut conn = db.conn().await;
    sqlx::raw_sql("UPDATE movielens.schema_version SET version = 0; ALTER TABLE movielens.dim_genre ADD COLUMN legacy INTEGER")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut child = ml(&lake, &db)
        .env("RUST_LOG", "movielens=debug,sqlx=warn")
        .arg("load")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        let copying_facts = line.contains("copying") && line.contains("fact_rating");
        seen.push(line);
        if copying_facts {
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the load finished before it was killed:\n{}",
        seen.join("\n")
    );
    assert_eq!(loaded_runs(&db).await, vec!["first".to_string()]);
    assert_eq!(count(&db, "fact_rating").await, facts_first);
    assert_eq!(count(&db, "dim_movie").await, movies_first);
    assert_eq!(schema_version(&db).await, 0);

    // While another session holds the load lock, a load is refused, naming why.
    let mut holder = db.conn().await;
    sqlx::raw_sql("SELECT pg_advisory_lock(7885651667594274158)")
        .execute(&mut holder)
        .await
        .unwrap();
    let out = ml(&lake, &db).arg("load").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("another `movielens load` is running"),
        "{}",
        text(&out)
    );
    drop(holder);

    // After the kill, the next load completes and the warehouse holds the new
    // run, in tables of the current version.
    run_ok(ml(&lake, &db).arg("load"));
    assert_eq!(
        schema_version(&db).await,
        movielens::warehouse::schema::SCHEMA_VERSION
    );
    let legacy: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'movielens' AND table_name = 'dim_genre' AND column_name = 'legacy'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(legacy, 0, "the old-version table was not replaced");
    assert_eq!(
        loaded_runs(&db).await,
        vec!["first".to_string(), "second".to_string()]
    );
    assert!(count(&db, "fact_rating").await > facts_first);
    run_ok(ml(&lake, &db).arg("check"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_named_without_the_password() {
    let Some(db) = TestDb::create("auth").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    run_ok(
        ml(&lake, &db)
            .env("MOVIELENS_WAREHOUSE__KIND", "none")
            .arg("run"),
    );
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some("Sw0rdfish-not-it")).unwrap();
    let out = ml(&lake, &db)
        .env("MOVIELENS_WAREHOUSE__URL", url.to_string())
        .arg("load")
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("password authentication failed"), "{all}");
    assert!(all.contains("movielens_test:****@127.0.0.1"), "{all}");
    assert!(!all.contains("Sw0rdfish"), "{all}");
}

/// Runs `movielens check` after `defect`; it must exit 1 with `check` failing.
async fn assert_check_fails(lake: &Path, db: &TestDb, defect: &str, check: &str) {
    let mut conn = db.conn().await;
    sqlx::raw_sql(defect).execute(&mut conn).await.unwrap();
    let out = ml(lake, db).arg("check").output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "after `{defect}`:\n{all}");
    let line = all
        .lines()
        .find(|l| l.split("  ").next().map(str::trim) == Some(check))
        .unwrap_or_else(|| panic!("no line for check {check}:\n{all}"));
    assert!(
        line.contains("FAIL"),
        "after `{defect}`, {check} did not fail:\n{all}"
    );
    assert!(all.contains("data-quality checks failed"), "{all}");
    // Restore the clean tables for the next defect.
    run_ok(ml(lake, db).arg("load"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_check_fails_on_its_seeded_defect() {
    let Some(db) = TestDb::create("defects").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    run_ok(ml(&lake, &db).arg("run"));
    run_ok(ml(&lake, &db).arg("check"));

    let dup = "ALTER TABLE movielens.dim_genre DROP CONSTRAINT dim_genre_pkey; \
               INSERT INTO movielens.dim_genre SELECT * FROM movielens.dim_genre LIMIT 1";
    assert_check_fails(&lake, &db, dup, "key_unique dim_genre").await;
    assert_check_fails(&lake, &db, dup, "rows dim_genre").await;
    let null_key = "ALTER TABLE movielens.dim_movie DROP CONSTRAINT dim_movie_pkey; \
                    ALTER TABLE movielens.dim_movie ALTER COLUMN tmdb_id DROP NOT NULL; \
                    UPDATE movielens.dim_movie SET tmdb_id = NULL WHERE tmdb_id = (SELECT max(tmdb_id) FROM movielens.dim_movie)";
    assert_check_fails(&lake, &db, null_key, "key_not_null dim_movie").await;
    assert_check_fails(
        &lake,
        &db,
        "INSERT INTO movielens.fact_rating VALUES (1, -42, 1, 3.5, '2001-01-01')",
        "fact_movie_exists",
    )
    .await;
    assert_check_fails(
        &lake,
        &db,
        "DELETE FROM movielens.dim_genre WHERE genre = (SELECT min(genre) FROM movielens.movie_genre)",
        "movie_genre_references",
    )
    .await;
    for bad in ["7.0", "2.3"] {
        assert_check_fails(
            &lake,
            &db,
            &format!("UPDATE movielens.fact_rating SET rating = {bad} WHERE ctid = (SELECT min(ctid) FROM movielens.fact_rating)"),
            "rating_half_stars_in_range",
        )
        .await;
    }
    assert_check_fails(
        &lake,
        &db,
        "DELETE FROM movielens.dim_cpi WHERE month = (SELECT month FROM movielens.dim_cpi ORDER BY month OFFSET 5 LIMIT 1)",
        "cpi_months_contiguous",
    )
    .await;
    // Each mart emptied although its inputs give it rows.
    for mart in TABLES.iter().filter(|t| t.is_mart()) {
        assert_check_fails(
            &lake,
            &db,
            &format!("DELETE FROM movielens.{}", mart.name),
            &format!("mart_rows {}", mart.name),
        )
        .await;
    }
    // Values inside the marts.
    assert_check_fails(
        &lake,
        &db,
        "ALTER TABLE movielens.highest_rated ALTER COLUMN weighted_rating DROP NOT NULL; \
         UPDATE movielens.highest_rated SET weighted_rating = NULL",
        "value_present highest_rated.weighted_rating",
    )
    .await;
    assert_check_fails(
        &lake,
        &db,
        "UPDATE movielens.highest_rated SET weighted_rating = 'Infinity' WHERE rank = 2",
        "value_present highest_rated.weighted_rating",
    )
    .await;
    assert_check_fails(
        &lake,
        &db,
        "UPDATE movielens.highest_rated SET weighted_rating = 5.5 WHERE rank = 1",
        "weighted_rating_between_means highest_rated",
    )
    .await;
    assert_check_fails(
        &lake,
        &db,
        "UPDATE movielens.genre_popularity SET share_of_ratings = 1.5 \
         WHERE genre = (SELECT min(genre) FROM movielens.genre_popularity)",
        "shares_and_users_in_range genre_popularity",
    )
    .await;
    assert_check_fails(
        &lake,
        &db,
        "UPDATE movielens.box_office_by_month SET total_revenue = -1 WHERE month = 12",
        "revenue_positive box_office_by_month",
    )
    .await;
    for (defect, check) in [
        (
            "UPDATE movielens.highest_rated SET min_ratings = 0",
            "counts_in_range highest_rated",
        ),
        (
            "UPDATE movielens.highest_rated SET mean_rating = 6 WHERE rank = 3",
            "mean_rating_is_a_rating highest_rated",
        ),
        (
            "UPDATE movielens.genre_popularity SET mean_rating = 0.1 \
             WHERE genre = (SELECT min(genre) FROM movielens.genre_popularity)",
            "mean_rating_is_a_rating genre_popularity",
        ),
        (
            "UPDATE movielens.box_office_by_quarter SET median_revenue = 0 WHERE quarter = 1",
            "revenue_positive box_office_by_quarter",
        ),
        (
            "UPDATE movielens.genre_earnings_real SET revenue_real = -1 \
             WHERE genre = (SELECT min(genre) FROM movielens.genre_earnings_real)",
            "revenue_positive genre_earnings_real",
        ),
        (
            "UPDATE movielens.cpi_window SET base_cpi = 0",
            "cpi_positive cpi_window",
        ),
        ("DELETE FROM movielens.dim_cpi", "not_empty dim_cpi"),
        (
            "DELETE FROM movielens.movie_genre; DELETE FROM movielens.dim_movie",
            "not_empty dim_movie",
        ),
    ] {
        assert_check_fails(&lake, &db, defect, check).await;
    }
    // Every rule on the marts' values has its seeded defect above.
    for (rule, _) in movielens::checks::marts::value_rules() {
        assert!(
            include_str!("warehouse.rs").contains(&format!("\"{rule}\"")),
            "no seeded defect for {rule}"
        );
    }
    // The same ratings twice; no ratings at all.
    assert_check_fails(
        &lake,
        &db,
        "INSERT INTO movielens.fact_rating SELECT * FROM movielens.fact_rating",
        "duplicate_ratings fact_rating",
    )
    .await;
    assert_check_fails(
        &lake,
        &db,
        "DELETE FROM movielens.fact_rating",
        "not_empty fact_rating",
    )
    .await;
    // Rejected rows: the generated metadata has malformed records on purpose;
    // a zero threshold fails them (on the lake alone, no warehouse needed).
    let out = ml(&lake, &db)
        .env("MOVIELENS_WAREHOUSE__KIND", "none")
        .env("MOVIELENS_CHECKS__MAX_REJECTED_FRACTION", "0")
        .arg("check")
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("data-quality checks on lake"), "{all}");
    assert!(
        all.lines()
            .any(|l| l.starts_with("rejected_fraction movies") && l.contains("FAIL")),
        "{all}"
    );
    // A check before the published run is loaded says so.
    run_ok(
        ml(&lake, &db)
            .env("MOVIELENS_WAREHOUSE__KIND", "none")
            .args(["transform", "--run-id", "newer"]),
    );
    let out = ml(&lake, &db).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("run `movielens load` first"),
        "{}",
        text(&out)
    );
}

/// The Redshift flavour connects with exactly the startup parameters it
/// sends to Redshift; a PostgreSQL-protocol server must accept them (an
/// unescaped `options=-c datestyle=ISO, MDY` was refused).
#[tokio::test(flavor = "multi_thread")]
async fn redshift_connection_options_are_accepted_by_a_postgres_protocol_server() {
    let Some(db) = TestDb::create("rsconn").await else {
        return;
    };
    let mut settings = movielens::config::Settings::load(None).unwrap();
    settings.warehouse.kind = movielens::config::WarehouseKind::Redshift;
    settings.warehouse.url = movielens::config::Secret::new(db.url.clone());
    let mut wh = movielens::warehouse::Warehouse::connect(&settings)
        .await
        .unwrap_or_else(|e| panic!("the Redshift connection options were refused: {e}"));
    assert_eq!(wh.query_i64("SELECT CAST(1 AS BIGINT)").await.unwrap(), 1);
    wh.close().await;
}

/// Settings pointing the library at `lake` and this database (Postgres).
fn settings_for(lake: &Path, db: &TestDb) -> movielens::config::Settings {
    let mut settings = movielens::config::Settings::load(None).unwrap();
    settings.lake = lake.display().to_string();
    settings.warehouse.kind = movielens::config::WarehouseKind::Postgres;
    settings.warehouse.url = movielens::config::Secret::new(db.url.clone());
    settings
}

/// A published run in a fresh lake, with no warehouse load yet.
fn published_lake(dir: &Path) -> std::path::PathBuf {
    let lake = dir.join("lake");
    run_ok(movielens().arg("--lake").arg(&lake).arg("run"));
    lake
}

async fn table_oid(conn: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT CAST(CAST('movielens.{table}' AS regclass) AS oid)::BIGINT"
    ))
    .fetch_one(conn)
    .await
    .unwrap()
}

/// The whole Redshift load transaction — LOCK, version check, typed staging
/// tables, DELETE + INSERT, version and load records — on PostgreSQL, with
/// only COPY's S3 read replaced by a stream of the same parquet rows.
#[tokio::test(flavor = "multi_thread")]
async fn redshift_load_transaction_runs_on_postgres_and_equals_the_lake() {
    let Some(db) = TestDb::create("rsload").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake_dir = published_lake(dir.path());
    let settings = settings_for(&lake_dir, &db);
    let lake = Lake::open(&settings).unwrap();
    let summary = movielens::warehouse::rehearse_redshift_load(&settings, &lake)
        .await
        .unwrap();
    assert_eq!(summary.tables.len(), TABLES.len());
    let mut conn = db.conn().await;
    for table in TABLES {
        let wh = warehouse_rows(&mut conn, table).await;
        let lk = lake_rows(&lake_dir, table).await;
        assert!(!wh.is_empty(), "{} is empty", table.name);
        assert!(
            wh == lk,
            "{}: warehouse rows differ from the lake",
            table.name
        );
    }
    assert_eq!(loaded_runs(&db).await, vec![summary.run_id.clone()]);
    assert_eq!(
        schema_version(&db).await,
        movielens::warehouse::schema::SCHEMA_VERSION
    );
    // The data-quality checks pass on what the Redshift path loaded.
    let mut check = movielens();
    check.arg("--lake").arg(&lake_dir).arg("check");
    for (k, v) in db.env() {
        check.env(k, v);
    }
    run_ok(&mut check);
}

/// A load over an unchanged schema replaces rows, not tables: an analyst's
/// view and a grant on a loaded table survive it.
#[tokio::test(flavor = "multi_thread")]
async fn redshift_load_over_an_unchanged_schema_keeps_views_and_grants() {
    let Some(db) = TestDb::create("rsviews").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake_dir = published_lake(dir.path());
    let settings = settings_for(&lake_dir, &db);
    let lake = Lake::open(&settings).unwrap();
    movielens::warehouse::rehearse_redshift_load(&settings, &lake)
        .await
        .unwrap();
    let mut conn = db.conn().await;
    // The test role may not create roles: the grant goes to PUBLIC.
    sqlx::raw_sql(
        "GRANT SELECT ON movielens.fact_rating TO PUBLIC; \
         CREATE VIEW movielens.ratings_per_movie AS \
             SELECT tmdb_id, count(*) AS n FROM movielens.fact_rating GROUP BY tmdb_id",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let oid = table_oid(&mut conn, "fact_rating").await;
    let before = count(&db, "fact_rating").await;

    // A second run, loaded the same way.
    run_ok(
        movielens()
            .arg("--lake")
            .arg(&lake_dir)
            .args(["run", "--run-id", "second"]),
    );
    movielens::warehouse::rehearse_redshift_load(&settings, &lake)
        .await
        .unwrap();
    assert_eq!(loaded_runs(&db).await.last().unwrap(), "second");
    assert_eq!(
        table_oid(&mut conn, "fact_rating").await,
        oid,
        "fact_rating was recreated"
    );
    assert_eq!(count(&db, "fact_rating").await, before, "no duplicate rows");
    let via_view: i64 =
        sqlx::query_scalar("SELECT CAST(sum(n) AS BIGINT) FROM movielens.ratings_per_movie")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(via_view, before, "the view no longer reads the table");
    // PUBLIC's SELECT shows in the table's ACL as "=r/<grantor>".
    let acl: String = sqlx::query_scalar(
        "SELECT CAST(relacl AS TEXT) FROM pg_class WHERE oid = CAST('movielens.fact_rating' AS regclass)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(
        acl.contains(",=r/") || acl.contains("{=r/"),
        "the grant was lost: {acl}"
    );
}

/// A title longer in bytes than its VARCHAR is refused before any statement
/// runs, naming the table, the column, the row's key and the sizes.
#[tokio::test(flavor = "multi_thread")]
async fn redshift_text_too_wide_is_refused_before_any_statement_with_its_row() {
    let Some(db) = TestDb::create("rswide").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lake_dir = published_lake(dir.path());
    let settings = settings_for(&lake_dir, &db);
    let lake = Lake::open(&settings).unwrap();
    movielens::warehouse::rehearse_redshift_load(&settings, &lake)
        .await
        .unwrap();

    // Rewrite the published dim_movie with one CJK title of 700 characters:
    // 2,100 bytes in UTF-8, over VARCHAR(2048) (700 characters would fit a
    // limit counted in characters).
    let run = lake
        .current(movielens::lake::Zone::Curated)
        .await
        .unwrap()
        .run_id;
    let table_dir = lake_dir.join(format!("curated/runs/{run}/dim_movie"));
    let ctx = datafusion::prelude::SessionContext::new();
    ctx.register_parquet("old", table_dir.to_str().unwrap(), Default::default())
        .await
        .unwrap();
    let victim: i64 = {
        let b = ctx
            .sql("SELECT min(tmdb_id) FROM old")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        b[0].column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .unwrap()
            .value(0)
    };
    let columns: Vec<String> = movielens::warehouse::schema::table("dim_movie")
        .unwrap()
        .columns
        .iter()
        .map(|c| match c.name {
            "title" => format!(
                "CASE WHEN tmdb_id = {victim} THEN repeat('題', 700) ELSE title END AS title"
            ),
            other => other.to_string(),
        })
        .collect();
    let rewritten = dir.path().join("dim_movie.parquet");
    ctx.sql(&format!(
        "COPY (SELECT {} FROM old) TO '{}' STORED AS PARQUET",
        columns.join(", "),
        rewritten.display()
    ))
    .await
    .unwrap()
    .collect()
    .await
    .unwrap();
    for f in std::fs::read_dir(&table_dir).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    std::fs::copy(&rewritten, table_dir.join("part-0.parquet")).unwrap();

    let loads_before = loaded_runs(&db).await.len();
    let err = movielens::warehouse::rehearse_redshift_load(&settings, &lake)
        .await
        .unwrap_err()
        .to_string();
    for part in [
        "dim_movie",
        "title",
        &format!("tmdb_id={victim}"),
        "2100 bytes",
        "VARCHAR(2048)",
        "nothing was loaded",
    ] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
    assert_eq!(
        loaded_runs(&db).await.len(),
        loads_before,
        "a load was recorded"
    );
}

/// What Redshift's parquet COPY needs of every curated table's files, checked
/// in the files themselves: the columns by name in the schema's order, and
/// timestamps stored as TIMESTAMP(MICROS) (COPY reads no nanosecond ones).
#[tokio::test(flavor = "multi_thread")]
async fn redshift_parquet_of_every_table_follows_the_copy_rules() {
    use datafusion::parquet::basic::{LogicalType, TimeUnit};
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let lake_dir = published_lake(dir.path());
    let mut settings = movielens::config::Settings::load(None).unwrap();
    settings.lake = lake_dir.display().to_string();
    let lake = Lake::open(&settings).unwrap();
    let run = lake
        .current(movielens::lake::Zone::Curated)
        .await
        .unwrap()
        .run_id;
    let mut timestamps = 0;
    for table in TABLES {
        let table_dir = lake_dir.join(format!("curated/runs/{run}/{}", table.name));
        let files: Vec<_> = std::fs::read_dir(&table_dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect();
        assert!(!files.is_empty(), "{}: no parquet files", table.name);
        for file in files {
            let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
            let descr = reader.metadata().file_metadata().schema_descr_ptr();
            let names: Vec<&str> = descr.columns().iter().map(|c| c.name()).collect();
            assert_eq!(names, table.column_names(), "{}", file.display());
            for (c, col) in table.columns.iter().zip(descr.columns()) {
                if c.ty == ColumnType::Timestamp {
                    timestamps += 1;
                    assert!(
                        matches!(
                            col.logical_type_ref(),
                            Some(LogicalType::Timestamp(t)) if t.unit == TimeUnit::MICROS
                        ),
                        "{}.{} is {:?} in {}",
                        table.name,
                        c.name,
                        col.logical_type_ref(),
                        file.display()
                    );
                }
            }
        }
    }
    assert!(timestamps > 0, "no timestamp column was checked");
}
