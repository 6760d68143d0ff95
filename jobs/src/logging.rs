//! Logging through `tracing`: human-readable by default, JSON on request, always
//! on stderr so stdout carries only answers. Ballista and DataFusion log through
//! `log`; their chatter is kept at warn unless `log.level` asks for it.

use tracing_subscriber::EnvFilter;

// `ballista_scheduler::display` only renders stage metrics for debugging; it logs a
// spurious ERROR when a plan's metrics do not line up (e.g. plans with UNNEST).
// sqlx logs Postgres notices ("already exists, skipping") at info.
const QUIET_DEPENDENCIES: &str = "ballista_scheduler::display=off,ballista=warn,ballista_core=warn,ballista_scheduler=warn,ballista_executor=warn,datafusion=warn,h2=warn,tonic=warn,hyper=warn,tower=warn,sqlx=warn";

/// Installs the global subscriber. `RUST_LOG`, when set, wins over `level`.
pub fn init(format: &str, level: &str) {
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
    let result = if format == "json" {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.with_target(false).compact().try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
