//! Logging through `tracing`: human-readable by default, JSON on request, always
//! on stderr so stdout carries only answers. Ballista and DataFusion log through
//! `log`; their chatter is kept at warn unless `log.level` asks for it.
//! Colours only when stderr is a terminal and `NO_COLOR` is unset
//! (<https://no-color.org>): a log file or an Airflow task log gets plain text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Whether human log lines may carry ANSI colours.
pub fn colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

// `ballista_scheduler::display` only renders stage metrics for debugging; it logs a
// spurious ERROR when a plan's metrics do not line up (e.g. plans with UNNEST).
// sqlx logs Postgres notices ("already exists, skipping") at info.
const QUIET_DEPENDENCIES: &str = "ballista_scheduler::display=off,ballista=warn,ballista_core=warn,ballista_scheduler=warn,ballista_executor=warn,datafusion=warn,h2=warn,tonic=warn,hyper=warn,tower=warn,sqlx=warn";

/// Installs the global subscriber. `RUST_LOG`, when set, wins over `level`.
pub fn init(format: LogFormat, level: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| {
            let spec = if level.contains('=') {
                level.to_string()
            } else {
                format!("{level},{QUIET_DEPENDENCIES}")
            };
            EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"))
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
        LogFormat::Human => builder
            .with_ansi(colours())
            .with_target(false)
            .compact()
            .try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
