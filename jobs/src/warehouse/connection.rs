//! One connection to the warehouse, through sqlx's Postgres driver (Redshift
//! speaks the same protocol), with errors that name the server but never the
//! password.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::schema::{self, Flavour, SCHEMA_VERSION, TABLES};
use super::{Result, WarehouseError};
use crate::config::{Settings, WarehouseKind};
use tracing::info;

/// A warehouse connection and what it is.
pub struct Warehouse {
    pub flavour: Flavour,
    /// Schema holding the tables (`warehouse.schema`).
    pub schema: String,
    /// The URL with its password masked, for messages.
    pub url: String,
    pub conn: PgConnection,
}

/// `postgres://user:secret@host/db` → `postgres://user:****@host/db`.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("****"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparseable warehouse.url)".into(),
    }
}

impl Warehouse {
    /// Connects to `warehouse.url`; errors when no warehouse is configured.
    pub async fn connect(settings: &Settings) -> Result<Self> {
        let w = &settings.warehouse;
        let flavour = match w.kind {
            WarehouseKind::Postgres => Flavour::Postgres,
            WarehouseKind::Redshift => Flavour::Redshift,
            WarehouseKind::None => return Err(WarehouseError::NotConfigured),
        };
        let url = mask_url(w.url.expose());
        let connect_err = |source| WarehouseError::Connect {
            url: url.clone(),
            source,
        };
        // The same startup parameters for both flavours: sqlx sends user,
        // database, DateStyle=ISO, client_encoding, TimeZone and
        // extra_float_digits, which Redshift accepts. (An `options` entry
        // such as `datestyle=ISO, MDY` went out unescaped as
        // `-c datestyle=ISO, MDY`, which a PostgreSQL-protocol server refuses:
        // `invalid value for parameter "DateStyle": "ISO,"`.)
        let options = PgConnectOptions::from_str(w.url.expose())
            .map_err(connect_err)?
            .application_name("movielens");
        let conn = tokio::time::timeout(
            Duration::from_secs(settings.warehouse.connect_timeout_secs),
            options.connect(),
        )
        .await
        .map_err(|_| WarehouseError::ConnectTimeout {
            url: url.clone(),
            secs: settings.warehouse.connect_timeout_secs,
        })?
        .map_err(connect_err)?;
        Ok(Self {
            flavour,
            schema: w.schema.clone(),
            url,
            conn,
        })
    }

    fn statement_err(&self, sql: &str) -> impl FnOnce(sqlx::Error) -> WarehouseError + use<> {
        let url = self.url.clone();
        let statement = sql.lines().next().unwrap_or_default().trim().to_string();
        move |source| WarehouseError::Statement {
            url,
            statement,
            source,
        }
    }

    /// Runs statements as plain text (the simple protocol: what Redshift takes
    /// for DDL and COPY).
    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        let err = self.statement_err(sql);
        sqlx::raw_sql(sql)
            .execute(&mut self.conn)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// A query returning one BIGINT.
    pub async fn query_i64(&mut self, sql: &str) -> Result<i64> {
        let err = self.statement_err(sql);
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut self.conn)
            .await
            .map_err(err)
    }

    /// A query returning at most one text value (None for no row or NULL).
    pub async fn query_text(&mut self, sql: &str) -> Result<Option<String>> {
        let err = self.statement_err(sql);
        sqlx::query_scalar::<_, Option<String>>(sql)
            .fetch_optional(&mut self.conn)
            .await
            .map(Option::flatten)
            .map_err(err)
    }

    /// Creates the schema, the bookkeeping tables and any missing table, and
    /// returns the schema version the warehouse records (None: never loaded).
    /// Tables of another version are not touched here: the load replaces
    /// them inside its own transaction (see [`Warehouse::record_version_sql`]),
    /// so a failed load leaves them as they were.
    pub async fn ensure_schema(&mut self) -> Result<Option<i32>> {
        let s = self.schema.clone();
        self.execute(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))
            .await?;
        for ddl in schema::bookkeeping_ddl(&s) {
            self.execute(&ddl).await?;
        }
        let found = self
            .query_text(&format!(
                "SELECT CAST(max(version) AS VARCHAR(16)) FROM {s}.schema_version"
            ))
            .await?
            .and_then(|v| v.parse::<i32>().ok());
        if found != Some(SCHEMA_VERSION) {
            info!(
                from = found.map_or("none".to_string(), |v| v.to_string()),
                to = SCHEMA_VERSION,
                "the load will (re)create the warehouse tables"
            );
        }
        let creates: Vec<String> = TABLES
            .iter()
            .map(|t| t.create(self.flavour, &s, true))
            .collect();
        self.in_transaction(&creates).await?;
        Ok(found)
    }

    /// Statements recording [`SCHEMA_VERSION`] (inside a load's transaction).
    pub fn record_version_sql(&self) -> Vec<String> {
        record_version_statements(&self.schema)
    }

    /// Runs `statements` in one transaction (all or nothing).
    pub async fn in_transaction(&mut self, statements: &[String]) -> Result<()> {
        self.transaction(statements, async |wh, sql| wh.execute(sql).await)
            .await
    }

    /// Runs `run` on each item in one transaction: the first error rolls it
    /// all back.
    pub async fn transaction<T>(
        &mut self,
        items: &[T],
        mut run: impl AsyncFnMut(&mut Self, &T) -> Result<()>,
    ) -> Result<()> {
        self.execute("BEGIN").await?;
        for item in items {
            if let Err(e) = run(self, item).await {
                let _ = self.execute("ROLLBACK").await;
                return Err(e);
            }
        }
        self.execute("COMMIT").await
    }

    /// The run id of the last completed load, if any.
    pub async fn loaded_run(&mut self) -> Result<Option<String>> {
        let s = self.schema.clone();
        let exists = self
            .query_i64(&format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{s}' AND table_name = 'loads'"
            ))
            .await?;
        if exists == 0 {
            return Ok(None);
        }
        self.query_text(&format!(
            "SELECT run_id FROM {s}.loads ORDER BY loaded_at DESC LIMIT 1"
        ))
        .await
    }

    /// Closes the connection cleanly (a dropped one is closed by the server).
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

/// The statement recording a finished load (inside the swap transaction).
/// Statements recording [`SCHEMA_VERSION`] in `schema`.
pub fn record_version_statements(s: &str) -> Vec<String> {
    vec![
        format!("DELETE FROM {s}.schema_version"),
        format!("INSERT INTO {s}.schema_version (version) VALUES ({SCHEMA_VERSION})"),
    ]
}

pub fn record_load_sql(
    schema: &str,
    run_id: &str,
    staging_run: &str,
    rows: u64,
    seconds: f64,
) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    record_load_sql_at(schema, run_id, staging_run, rows, seconds, &now)
}

/// [`record_load_sql`] at a given `loaded_at` (`YYYY-MM-DD HH:MM:SS`, UTC).
pub fn record_load_sql_at(
    schema: &str,
    run_id: &str,
    staging_run: &str,
    rows: u64,
    seconds: f64,
    loaded_at: &str,
) -> String {
    format!(
        "INSERT INTO {schema}.loads (run_id, staging_run, schema_version, loaded_at, rows_loaded, seconds) \
         VALUES ({}, {}, {SCHEMA_VERSION}, TIMESTAMP '{loaded_at}', {rows}, {seconds:.3})",
        literal(run_id),
        literal(staging_run)
    )
}

/// A SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
