//! The one typed configuration of movielens.
//!
//! Layers, later ones winning: built-in defaults → an optional TOML file
//! (`--config movielens.toml`) → `MOVIELENS_*` environment variables (nested keys
//! joined by `__`, e.g. `MOVIELENS_ENGINE__SCHEDULER=df://10.0.1.5:50050`) →
//! command-line flags such as `--lake`.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Everything a run can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Root of the lake: a local directory (default `./lake`) or `s3://bucket/prefix`.
    pub lake: String,
    /// Which engine runs the SQL plans.
    pub engine: EngineSettings,
    /// How our scheduler and executor processes (and the embedded ones) run.
    pub cluster: ClusterSettings,
    /// How to reach S3 when the lake is on `s3://`.
    pub s3: S3Settings,
    /// Where the curated tables are loaded (none by default).
    pub warehouse: WarehouseSettings,
    /// Thresholds of the data-quality checks.
    pub checks: CheckSettings,
    /// Where `movielens extract` downloads from.
    pub extract: ExtractSettings,
    /// Parameters of the four answers.
    pub answers: AnswerSettings,
    /// What `run` generates when it is given no input.
    pub generate: GenerateSettings,
    /// Logging format and level.
    pub log: LogSettings,
    /// How commands that write share the lake, and how long they may take.
    pub run: RunSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// Wait for another writer's lock on the lake instead of failing at once
    /// (also `--wait`).
    pub lock_wait: bool,
    /// A command still running after this many seconds stops, cancels its
    /// engine jobs and exits non-zero; 0 for no limit.
    pub deadline_secs: u64,
    /// Runs a lake keeps (the newest ones, and always the published one):
    /// after `run` publishes, older runs and the raw files only they read are
    /// deleted. 0 keeps every run.
    pub keep_runs: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// `df://host:port` of a Ballista scheduler; empty means the embedded engine
    /// (a scheduler and an executor inside this process, on loopback).
    pub scheduler: String,
    /// Partitions per stage; 0 means one per core of this machine.
    pub partitions: usize,
    /// Seconds to wait for the scheduler before giving up with an error.
    pub connect_timeout_secs: u64,
    /// Times a failed step is re-submitted (steps are idempotent: a step first
    /// empties its table's folder, and every attempt writes the same named files).
    pub step_retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_backoff_ms: u64,
    /// A step still running after this many seconds is abandoned and
    /// re-submitted: Ballista can stall a job forever after losing an executor
    /// mid-shuffle ("Can't find active stage to update stage outputs").
    pub step_timeout_secs: u64,
    /// fact_rating is written by this many concurrent jobs, each over its own
    /// raw ratings parts, because Ballista writes one job's output from one task.
    pub fact_write_shards: usize,
    /// Transform steps run at once when the tables they read are ready;
    /// 0 = automatic: 2 (or the partition count) on the embedded engine, 2 on
    /// a cluster. 1 is the fallback if a cluster that lost an executor is
    /// left with no free task slot (seen once with Ballista 55 and an older
    /// step list: every re-submission then timed out); the executor-kill
    /// test runs at the default.
    pub concurrent_steps: usize,
    /// Raw ratings are landed in parts of about this many bytes, the unit of
    /// sharding; a file of more than one part is cut into a multiple of
    /// `fact_write_shards` equal parts, so every shard has the same work.
    pub ratings_part_bytes: u64,
    /// Fetch shuffle data over the network even from an executor on the same
    /// host (as on a real fleet); on one host this makes executor loss visible.
    pub force_remote_shuffle_read: bool,
    /// Partial GROUP BYs on one integer key find a row's group by array
    /// index, not by hashing (`engine::dense_group_by`). Read by the executors
    /// (embedded or `movielens-executor`); false is the way back to
    /// DataFusion's own hash aggregation.
    pub dense_group_by: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Address the scheduler and executor processes listen on.
    pub bind_host: String,
    /// Address other processes use to reach this one ("" = the bind host).
    pub external_host: String,
    /// Where executors find the scheduler.
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Executor Flight (data) and gRPC ports.
    pub executor_port: u16,
    pub executor_grpc_port: u16,
    /// Executor metrics (Prometheus text at `/metrics`); 0 = not served.
    pub executor_metrics_port: u16,
    /// Task slots per executor; 0 = one per core.
    pub executor_vcores: usize,
    /// Memory pool per executor in MiB; 0 = a quarter of the host. Set it: the
    /// library default gives every executor 70% of the host.
    pub executor_memory_mb: u64,
    /// Shuffle files; "" = a fresh temporary directory, removed on exit.
    pub work_dir: String,
    /// Executor heartbeat (library default 60 s).
    pub heartbeat_secs: u64,
    /// After this long without a heartbeat an executor is dead and its tasks
    /// re-run (library default 180 s).
    pub executor_timeout_secs: u64,
    /// Finished jobs' shuffle files are deleted after this many seconds (the
    /// scheduler asks the executors).
    pub job_data_cleanup_secs: u64,
    /// Executors also sweep their work dir every `work_dir_sweep_secs` for job
    /// folders older than this (left by crashed jobs or schedulers).
    pub work_dir_ttl_secs: u64,
    pub work_dir_sweep_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// Custom endpoint (moto, MinIO); empty means AWS.
    pub endpoint: String,
    pub region: String,
    /// Static credentials; empty means the standard AWS chain (env, profile, instance role).
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Needed for `http://` endpoints.
    pub allow_http: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseSettings {
    /// `none`, `postgres` or `redshift`.
    pub kind: WarehouseKind,
    /// Connection URL; may hold a password, so it is masked when printed.
    pub url: Secret,
    /// Schema holding the tables (the load builds the next run in `<schema>_load`).
    pub schema: String,
    /// Redshift only: ARN of the IAM role Redshift assumes to read the lake bucket.
    pub iam_role: String,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// A staged input file fails the check when more than this fraction of
    /// its records were dropped (malformed, duplicate or unparseable).
    pub max_rejected_fraction: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSettings {
    /// Kaggle API base URL (the official client's shape:
    /// `{base}/api/v1/datasets/download/{owner}/{dataset}`).
    pub kaggle_base_url: String,
    pub kaggle_dataset: String,
    /// Directory holding kaggle.json when KAGGLE_USERNAME/KAGGLE_KEY are unset
    /// ("" = ~/.kaggle).
    pub kaggle_config_dir: String,
    /// FRED base URL (`{base}/graph/fredgraph.csv?id=SERIES`).
    pub fred_base_url: String,
    pub fred_series: String,
    /// Optional observation window, YYYY-MM-DD ("" = the whole series).
    pub fred_start: String,
    pub fred_end: String,
    /// Attempts after the first on 429, 5xx, resets and truncated bodies.
    pub retries: u32,
    /// First backoff; doubled per retry, with jitter.
    pub backoff_ms: u64,
    /// Per-request timeout.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerSettings {
    /// How many movies the "highest rated" answer lists.
    pub top_n: usize,
    /// Percentile of per-movie rating counts used as the weighted rating's `m`.
    pub min_ratings_percentile: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSettings {
    pub scale: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `movielens=debug,info`.
    pub level: String,
}

/// Where `movielens load` puts the curated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WarehouseKind {
    /// The lake only.
    None,
    Postgres,
    Redshift,
}

/// How log lines look: `human` (colours only on a terminal, never with
/// `NO_COLOR`) or `json` (one object per line, no progress bars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// A string that never shows itself in logs, `Debug` output or `movielens config`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The real value, for the one place that needs it (a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"****\""
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "****" })
    }
}

/// Why the configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration (file {file}, or MOVIELENS_* environment): {source}")]
    Load {
        file: String,
        #[source]
        source: config::ConfigError,
    },
    #[error("invalid configuration value {key} = {value:?}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
}

const DEFAULTS: &str = r#"
lake = "lake"

[engine]
scheduler = ""
partitions = 0
connect_timeout_secs = 10
step_retries = 2
retry_backoff_ms = 2000
step_timeout_secs = 900
force_remote_shuffle_read = false
dense_group_by = true
fact_write_shards = 4
concurrent_steps = 0
ratings_part_bytes = 67108864

[cluster]
bind_host = "0.0.0.0"
external_host = ""
scheduler_host = "127.0.0.1"
scheduler_port = 50050
executor_port = 50051
executor_grpc_port = 50052
executor_metrics_port = 50053
executor_vcores = 0
executor_memory_mb = 0
work_dir = ""
heartbeat_secs = 5
executor_timeout_secs = 30
job_data_cleanup_secs = 60
work_dir_ttl_secs = 21600
work_dir_sweep_secs = 600

[s3]
endpoint = ""
region = "us-east-1"
access_key_id = ""
secret_access_key = ""
allow_http = false

[warehouse]
kind = "none"
url = ""
schema = "movielens"
iam_role = ""
connect_timeout_secs = 10

[checks]
max_rejected_fraction = 0.05

[extract]
kaggle_base_url = "https://www.kaggle.com"
kaggle_dataset = "rounakbanik/the-movies-dataset"
kaggle_config_dir = ""
fred_base_url = "https://fred.stlouisfed.org"
fred_series = "CUSR0000SS62031"
fred_start = ""
fred_end = ""
retries = 4
backoff_ms = 500
timeout_secs = 600

[answers]
top_n = 10
min_ratings_percentile = 0.9

[generate]
scale = 0.01
seed = 42

[log]
format = "human"
level = "info"

[run]
lock_wait = false
deadline_secs = 0
keep_runs = 0
"#;

impl Settings {
    /// Builds the effective settings from defaults, an optional file and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let env = config::Environment::with_prefix("MOVIELENS")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true);
        let settings: Settings = builder
            .add_source(env)
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|source| ConfigError::Load {
                file: file.map_or_else(|| "(none)".into(), |p| p.display().to_string()),
                source,
            })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let schema = &self.warehouse.schema;
        if schema.is_empty()
            || !schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ConfigError::Invalid {
                key: "warehouse.schema",
                value: schema.clone(),
                reason: "expected a lower-case SQL identifier (a-z, 0-9, _)",
            });
        }
        let f = self.checks.max_rejected_fraction;
        if !(0.0..=1.0).contains(&f) {
            return Err(ConfigError::Invalid {
                key: "checks.max_rejected_fraction",
                value: f.to_string(),
                reason: "expected a fraction between 0 and 1",
            });
        }
        let p = self.answers.min_ratings_percentile;
        if !(0.0..=1.0).contains(&p) {
            return Err(ConfigError::Invalid {
                key: "answers.min_ratings_percentile",
                value: p.to_string(),
                reason: "expected a fraction between 0 and 1",
            });
        }
        if self.answers.top_n == 0 {
            return Err(ConfigError::Invalid {
                key: "answers.top_n",
                value: "0".into(),
                reason: "expected at least 1",
            });
        }
        let scheduler = &self.engine.scheduler;
        if !scheduler.is_empty() && !scheduler.starts_with("df://") {
            return Err(ConfigError::Invalid {
                key: "engine.scheduler",
                value: scheduler.clone(),
                reason: "expected df://HOST:PORT, or empty for the embedded engine",
            });
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets masked.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}"))
    }

    /// Partitions per stage: the configured number, or one per core.
    pub fn partitions(&self) -> usize {
        match self.engine.partitions {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_mask_secrets() {
        let mut s = Settings::load(None).unwrap();
        assert_eq!(s.answers.top_n, 10);
        assert_eq!(s.warehouse.kind, WarehouseKind::None);
        s.s3.secret_access_key = Secret::new("hunter2");
        s.warehouse.url = Secret::new("postgres://u:pw@h/db");
        let printed = s.to_masked_toml();
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("pw@"), "{printed}");
        assert!(printed.contains("****"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn file_overrides_defaults_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, "lake = \"/data/lake\"\n[answers]\ntop_n = 5\n").unwrap();
        let s = Settings::load(Some(&path)).unwrap();
        assert_eq!(s.lake, "/data/lake");
        assert_eq!(s.answers.top_n, 5);

        std::fs::write(&path, "[warehouse]\nkind = \"oracle\"\n").unwrap();
        let err = Settings::load(Some(&path)).unwrap_err().to_string();
        assert!(
            err.contains("warehouse.kind") && err.contains("oracle"),
            "{err}"
        );
    }
}
