//! The cluster's view of a running transform, for people watching it: every
//! couple of seconds the scheduler's REST API says which jobs run, and each
//! step's jobs carry the step's name ([`crate::engine::job_session`]), so
//! progress is per step: its stages done of total and, in its running stages,
//! tasks done of those started (Ballista hands out a stage's tasks as slots
//! free up, so it does not say in advance how many there will be). On a
//! terminal that goes into the progress bar's message; under JSON logs (no
//! bars) it is one `info` event per running step every 10 s, so a three-hour
//! transform shows where it is in Airflow's log too.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use serde_json::Value;
use tracing::info;

use crate::engine::api::Api;

/// Stops the watcher when dropped.
pub struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One step's running jobs, summed (fact_rating runs one job per shard).
#[derive(Debug, Default, PartialEq)]
struct StepProgress {
    jobs: usize,
    stages_done: u64,
    stages_total: u64,
    tasks_done: usize,
    tasks_started: usize,
}

/// Adds one running job (its `/api/jobs` entry and its stages) to `step`.
fn add_job(step: &mut StepProgress, job: &Value, stages: &[Value]) {
    step.jobs += 1;
    step.stages_done += job["completed_stages"].as_u64().unwrap_or(0);
    step.stages_total += job["num_stages"].as_u64().unwrap_or(0);
    for stage in stages.iter().filter(|s| s["stage_status"] == "Running") {
        let tasks = stage["tasks"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        step.tasks_started += tasks.len();
        step.tasks_done += tasks.iter().filter(|t| t["status"] == "Successful").count();
    }
}

/// The running jobs by step name (a job without a name is "other").
async fn progress(api: &Api) -> Option<BTreeMap<String, StepProgress>> {
    let jobs = api.jobs().await.ok()?;
    let mut steps: BTreeMap<String, StepProgress> = BTreeMap::new();
    for job in jobs.iter().filter(|j| j["status"] == "Running") {
        let name = match job["job_name"].as_str() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => "other".to_string(),
        };
        let id = job["job_id"].as_str().unwrap_or_default();
        let stages = api.stages(id).await.unwrap_or_default();
        add_job(steps.entry(name).or_default(), job, &stages);
    }
    Some(steps)
}

/// "fact_rating stages 1/2 tasks 3/4, genre_popularity stages 0/2 tasks 0/1".
fn message(steps: &BTreeMap<String, StepProgress>) -> String {
    steps
        .iter()
        .map(|(name, p)| {
            format!(
                "{name} stages {}/{} tasks {}/{}",
                p.stages_done, p.stages_total, p.tasks_done, p.tasks_started
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Watches the scheduler at `scheduler_url` until dropped; `bar` counts the
/// transform's tables written (it keeps counting when it is not drawn).
pub fn start(scheduler_url: &str, bar: ProgressBar) -> Watch {
    let api = Api::for_scheduler(scheduler_url);
    Watch(tokio::spawn(async move {
        let mut last_log = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let Some(steps) = progress(&api).await else {
                continue;
            };
            bar.set_message(message(&steps));
            if last_log.elapsed() >= Duration::from_secs(10) {
                last_log = Instant::now();
                for (step, p) in &steps {
                    info!(
                        tables_done = bar.position(),
                        tables = bar.length().unwrap_or(0),
                        step = step.as_str(),
                        jobs = p.jobs,
                        stages_done = p.stages_done,
                        stages_total = p.stages_total,
                        tasks_done = p.tasks_done,
                        tasks_started = p.tasks_started,
                        "transform progress"
                    );
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_steps_jobs_are_summed_and_only_running_stages_count_tasks() {
        let mut p = StepProgress::default();
        let job = json!({"completed_stages": 1, "num_stages": 3});
        let stages = [
            json!({"stage_status": "Successful", "tasks": [{"status": "Successful"}]}),
            json!({"stage_status": "Running", "tasks": [
                {"status": "Successful"}, {"status": "Running"},
                {"status": {"Failed": {"reason": "ExecutionError", "error": "x"}}}]}),
            json!({"stage_status": "UnResolved"}),
        ];
        add_job(&mut p, &job, &stages);
        add_job(
            &mut p,
            &json!({"completed_stages": 0, "num_stages": 1}),
            &[],
        );
        let expected = StepProgress {
            jobs: 2,
            stages_done: 1,
            stages_total: 4,
            tasks_done: 1,
            tasks_started: 3,
        };
        assert_eq!(p, expected);
        let steps = BTreeMap::from([("fact_rating".to_string(), p)]);
        assert_eq!(message(&steps), "fact_rating stages 1/4 tasks 1/3");
    }
}
