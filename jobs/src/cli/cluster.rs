//! `movielens cluster status|cancel`: a remote Ballista cluster through its
//! scheduler's REST API — the executors with their slots and last heartbeat,
//! the jobs running and their stages; cancelling a job.

use anyhow::{Context, bail};
use movielens::config::Settings;
use movielens::engine::api::Api;
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ballista scheduler, df://HOST:PORT (default: engine.scheduler).
    #[arg(long, global = true, value_name = "URL")]
    scheduler: Option<String>,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Executors (slots, last heartbeat) and running jobs (stages done of total).
    Status {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a job by its id (as `status` lists it); its tasks stop and free their slots.
    Cancel { job: String },
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let url = args
        .scheduler
        .unwrap_or_else(|| settings.engine.scheduler.clone());
    if url.is_empty() {
        bail!(
            "no scheduler: pass --scheduler df://HOST:PORT or set engine.scheduler (the embedded engine has no cluster to show)"
        );
    }
    let api = Api::for_scheduler(&url);
    match args.action {
        Action::Status { json } => status(&api, &url, json).await,
        Action::Cancel { job } => match api
            .cancel(&job)
            .await
            .with_context(|| format!("cancelling job {job} at {url}"))?
        {
            None => {
                eprintln!("job {job}: cancelled");
                Ok(())
            }
            Some(reason) => bail!("job {job} was not cancelled: {reason}"),
        },
    }
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

async fn status(api: &Api, url: &str, json: bool) -> anyhow::Result<()> {
    let executors = api.executors().await?;
    let running: Vec<Value> = api
        .jobs()
        .await?
        .into_iter()
        .filter(|j| matches!(j["status"].as_str(), Some("Running" | "Queued")))
        .collect();
    let mut jobs = Vec::new();
    for job in running {
        let id = job["job_id"].as_str().unwrap_or_default().to_string();
        let stages = api.stages(&id).await.unwrap_or_default();
        jobs.push((job, stages));
    }
    if json {
        let out = serde_json::json!({
            "scheduler": url,
            "executors": executors,
            "running_jobs": jobs.iter().map(|(j, s)| {
                let mut j = j.clone();
                j["stages"] = s.iter().map(|s| serde_json::json!({
                    "stage_id": s["stage_id"], "stage_status": s["stage_status"],
                    "input_rows": s["input_rows"], "output_rows": s["output_rows"],
                })).collect();
                j
            }).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let slots: u64 = executors
        .iter()
        .map(|e| e["specification"]["vcores"].as_u64().unwrap_or(0))
        .sum();
    println!(
        "scheduler {url}: {} executors, {slots} task slots",
        executors.len()
    );
    for e in &executors {
        let seen = e["last_seen"]
            .as_u64()
            .map(|t| (now_ms().saturating_sub(t as u128)) as f64 / 1000.0);
        println!(
            "  executor {}  {}:{}  slots {}  last heartbeat {}",
            e["id"].as_str().unwrap_or("?"),
            e["host"].as_str().unwrap_or("?"),
            e["port"],
            e["specification"]["vcores"],
            seen.map_or("never".into(), |s| format!("{s:.0} s ago")),
        );
    }
    println!("running jobs: {}", jobs.len());
    for (job, stages) in &jobs {
        println!(
            "  job {} ({})  {}  stages {}/{} done",
            job["job_id"].as_str().unwrap_or("?"),
            job["job_name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or("unnamed"),
            job["status"].as_str().unwrap_or("?"),
            job["completed_stages"],
            job["num_stages"],
        );
        for s in stages {
            println!(
                "    stage {:>3}  {:<10}  rows in {}  out {}",
                s["stage_id"].as_str().unwrap_or("?"),
                s["stage_status"].as_str().unwrap_or("?"),
                s["input_rows"],
                s["output_rows"],
            );
        }
    }
    Ok(())
}
