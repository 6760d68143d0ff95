//! The cluster's view of a running transform, for people watching it: every
//! couple of seconds the scheduler's REST API says which jobs run and how many
//! of their stages are done. On a terminal that goes into the progress bar's
//! message; under JSON logs (no bars) it is an `info` event every 10 s, so a
//! three-hour transform shows where it is in Airflow's log too.
//!
//! Ballista jobs carry no name of ours, so this counts the running jobs'
//! stages together rather than per step.

use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tracing::info;

use crate::engine::api::Api;

/// Stops the watcher when dropped.
pub struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Watches the scheduler at `scheduler_url` until dropped; `bar` counts the
/// transform's tables written (it keeps counting when it is not drawn).
pub fn start(scheduler_url: &str, bar: ProgressBar) -> Watch {
    let api = Api::for_scheduler(scheduler_url);
    Watch(tokio::spawn(async move {
        let mut last_log = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let Ok(jobs) = api.jobs().await else { continue };
            let running: Vec<_> = jobs.iter().filter(|j| j["status"] == "Running").collect();
            let stages =
                |key: &str| -> u64 { running.iter().map(|j| j[key].as_u64().unwrap_or(0)).sum() };
            let (stages_done, stages_total) = (stages("completed_stages"), stages("num_stages"));
            bar.set_message(format!(
                "{} jobs running, stages {stages_done}/{stages_total}",
                running.len()
            ));
            if last_log.elapsed() >= Duration::from_secs(10) {
                last_log = Instant::now();
                info!(
                    tables_done = bar.position(),
                    tables = bar.length().unwrap_or(0),
                    jobs_running = running.len(),
                    stages_done,
                    stages_total,
                    "transform progress"
                );
            }
        }
    }))
}
