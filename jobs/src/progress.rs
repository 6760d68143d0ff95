//! Progress bars for long work, drawn on a terminal only: in a pipe, a log file
//! or under Airflow they are hidden, and the logs say what happened instead.

use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// No bars at all, even on a terminal (`--log-format json`: machine-read output).
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
}

/// What a bar counts.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Bytes,
    Rows,
    /// Steps of a plan, e.g. the tables a transform writes.
    Steps,
}

/// A bar of `total` units (or a spinner when the total is unknown), labelled.
pub fn bar(total: Option<u64>, label: &str, unit: Unit) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    if !ENABLED.load(Ordering::Relaxed) || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let template = match unit {
        Unit::Bytes => "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        Unit::Rows => "{msg} {bar:30} {human_pos}/{human_len} rows {per_sec} ETA {eta}",
        Unit::Steps => "{prefix} {bar:30} {pos}/{len} {msg} ({elapsed})",
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_string());
    bar
}
