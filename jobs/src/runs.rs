//! The runs of a lake and which one readers see.
//!
//! A run writes its tables under its own id (`staging/runs/<id>/`,
//! `curated/runs/<id>/`) and records each zone as complete when every table
//! is written. Its curated tables are then checked by that id, and only a run
//! whose checks pass becomes the published run (`curated/_CURRENT.json`). A
//! failed run stays readable by its id for diagnosis and never changes what
//! readers get; an earlier good run can be published again (rollback).

use serde::{Deserialize, Serialize};

use crate::checks::{self, CheckError, CheckReport};
use crate::config::Settings;
use crate::lake::{Lake, LakeError, Zone};
use crate::transform::Which;

/// Where a curated run keeps its checks' outcome.
fn checks_key(run_id: &str) -> String {
    format!(
        "{}/_CHECKS.json",
        Lake::table_key(Zone::Curated, run_id, "").trim_end_matches('/')
    )
}

/// How a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Some curated tables are missing: it was stopped, or failed, half way.
    Incomplete,
    /// Complete, not yet checked.
    Unchecked,
    /// Its checks failed: never published.
    Failed,
    /// Its checks passed; another run is published.
    Passed,
    /// The run readers see.
    Published,
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::Incomplete => "incomplete",
            RunState::Unchecked => "unchecked",
            RunState::Failed => "failed",
            RunState::Passed => "passed",
            RunState::Published => "published",
        }
    }
}

/// One run of `movielens runs`.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub state: RunState,
    /// When its curated tables were complete.
    pub completed_at: Option<String>,
    pub fact_rows: Option<u64>,
    /// The checks that failed, for a failed run.
    pub failed_checks: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(
        "run {run_id} failed {} data-quality checks ({}); it stays readable by its id and was not published",
        failed.len(),
        failed.join(", ")
    )]
    Failed {
        run_id: String,
        failed: Vec<String>,
        /// The whole report, for the caller to print.
        report: Box<CheckReport>,
    },
}

/// Checks the curated run `run_id` on the lake, keeps the outcome in its
/// folder, and publishes it when every check passed. Returns the report; a
/// failed check is [`PublishError::Failed`] and nothing is published.
pub async fn check_and_publish(
    settings: &Settings,
    lake: &Lake,
    run_id: &str,
) -> Result<CheckReport, PublishError> {
    let report = checks::check_lake(settings, lake, Which::Run(run_id)).await?;
    lake.write_json(&checks_key(run_id), &report).await?;
    let failed = report.failed_names();
    if !failed.is_empty() {
        return Err(PublishError::Failed {
            run_id: run_id.into(),
            failed,
            report: Box::new(report),
        });
    }
    publish_checked(lake, run_id).await?;
    Ok(report)
}

/// Publishes a run whose checks passed (rollback to an earlier good run, or
/// a run checked with `transform --no-publish`). A run never checked is
/// checked first; a failed one is refused.
pub async fn publish(
    settings: &Settings,
    lake: &Lake,
    run_id: &str,
) -> Result<CheckReport, PublishError> {
    match lake.read_json::<CheckReport>(&checks_key(run_id)).await? {
        Some(report) if report.failed().is_empty() => {
            publish_checked(lake, run_id).await?;
            Ok(report)
        }
        _ => check_and_publish(settings, lake, run_id).await,
    }
}

async fn publish_checked(lake: &Lake, run_id: &str) -> Result<(), PublishError> {
    let run = crate::transform::curated_run(lake, Which::Run(run_id))
        .await
        .map_err(CheckError::from)?;
    lake.publish(Zone::Curated, &run).await?;
    Ok(())
}

/// Every curated run of the lake, oldest first, with its state.
pub async fn list(lake: &Lake) -> Result<Vec<RunInfo>, LakeError> {
    let published = lake.published_id(Zone::Curated).await?;
    let mut out = Vec::new();
    for run_id in lake.run_ids(Zone::Curated).await? {
        let record = lake.run(Zone::Curated, &run_id).await?;
        let checked: Option<CheckReport> = lake.read_json(&checks_key(&run_id)).await?;
        let failed_checks = checked
            .as_ref()
            .map(CheckReport::failed_names)
            .unwrap_or_default();
        let state = match (&record, &checked) {
            _ if published.as_deref() == Some(run_id.as_str()) => RunState::Published,
            (None, _) => RunState::Incomplete,
            (Some(_), None) => RunState::Unchecked,
            (Some(_), Some(_)) if failed_checks.is_empty() => RunState::Passed,
            (Some(_), Some(_)) => RunState::Failed,
        };
        out.push(RunInfo {
            state,
            completed_at: record.as_ref().map(|r| r.published_at.clone()),
            fact_rows: record
                .as_ref()
                .and_then(|r| r.tables.get("fact_rating").copied()),
            failed_checks,
            run_id,
        });
    }
    out.sort_by(|a, b| {
        a.completed_at
            .cmp(&b.completed_at)
            .then(a.run_id.cmp(&b.run_id))
    });
    Ok(out)
}

/// What [`prune`] removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    pub runs: Vec<String>,
    /// Raw files no kept run (nor the latest extract) reads.
    pub raw_objects: usize,
}

/// When a run happened, from whichever record it left: curated, staging,
/// raw manifest (an empty string sorts a run that left none first).
async fn run_time(lake: &Lake, run_id: &str) -> Result<String, LakeError> {
    for zone in [Zone::Curated, Zone::Staging] {
        if let Some(run) = lake.run(zone, run_id).await? {
            return Ok(run.published_at);
        }
    }
    let manifest: Option<crate::raw::RunManifest> =
        lake.read_json(&crate::raw::manifest_key(run_id)).await?;
    Ok(manifest.map(|m| m.landed_at).unwrap_or_default())
}

/// Keeps the newest `keep` runs and the published one; deletes every other
/// run's folders in every zone, its report and manifest, then the raw files
/// that no kept run and not the latest extract reads. Hold the lake's lock.
pub async fn prune(lake: &Lake, keep: usize) -> Result<Pruned, LakeError> {
    let published = lake.published_id(Zone::Curated).await?;
    let mut ids: Vec<String> = lake.run_ids(Zone::Curated).await?;
    ids.extend(lake.run_ids(Zone::Staging).await?);
    ids.extend(lake.folders_under(crate::raw::RUNS).await?);
    ids.sort();
    ids.dedup();
    let mut timed = Vec::new();
    for id in ids {
        timed.push((run_time(lake, &id).await?, id));
    }
    // Newest first.
    timed.sort_by(|a, b| b.cmp(a));
    let mut pruned = Pruned::default();
    for (i, (_, id)) in timed.iter().enumerate() {
        if i < keep || published.as_deref() == Some(id.as_str()) {
            continue;
        }
        for prefix in [
            format!("curated/runs/{id}/"),
            format!("staging/runs/{id}/"),
            format!("reports/{id}/"),
            format!("{}{id}/", crate::raw::RUNS),
        ] {
            lake.delete_prefix(&prefix).await?;
        }
        pruned.runs.push(id.clone());
    }
    // Raw objects still read: by the kept runs' manifests and the latest extract.
    let mut referenced = std::collections::BTreeSet::new();
    for (key, _) in lake.list(crate::raw::RUNS).await? {
        if let Some(m) = lake.read_json::<crate::raw::RunManifest>(&key).await? {
            referenced.extend(m.inputs.values().map(|l| crate::raw::object_dir(&l.key)));
        }
    }
    if let Some(extract) = crate::extract::latest(lake).await? {
        referenced.extend(
            extract
                .entries
                .iter()
                .map(|e| crate::raw::object_dir(&e.key)),
        );
    }
    let mut dirs: Vec<String> = lake
        .list(&format!("{}/", crate::raw::OBJECTS))
        .await?
        .into_iter()
        .map(|(k, _)| crate::raw::object_dir(&k))
        .collect();
    dirs.dedup();
    for dir in dirs {
        if !referenced.contains(&dir) {
            pruned.raw_objects += lake.delete_prefix(&format!("{dir}/")).await?;
        }
    }
    Ok(pruned)
}
