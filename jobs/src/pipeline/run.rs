//! `movielens run` as one library function: land the inputs, stage, transform,
//! check and publish, prune, load and check the warehouse, read the answers,
//! keep the report. Each stage is the same library call its own subcommand
//! makes (the DAG runs those one task each); what happens is told to an
//! [`Observer`] as it happens, so the CLI can print it and a test can collect it.

use std::time::Instant;

use crate::answers::{self, Answers, RatingOutcome};
use crate::checks::{self, CheckError, CheckReport, ChecksFailed};
use crate::config::{Settings, WarehouseKind};
use crate::engine::{Engine, EngineError};
use crate::extract::{self, ExtractError, Manifest};
use crate::generate::GenerateError;
use crate::lake::{CsvSplit, Lake, LakeError};
use crate::report::{self, ReportError, StageTime};
use crate::runs::{self, Pruned, PublishError};
use crate::staging::{self, RawInputs, StageError, StageSummary};
use crate::transform::{self, TransformError, Which};
use crate::warehouse::{self, LoadSummary, WarehouseError};

use super::{InputError, LocalInputs};

/// Where a run's raw inputs come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Download from Kaggle and FRED first (`movielens extract`); ratings from
    /// the file of that name.
    Extract { ratings: String },
    /// Files on this machine.
    Files(LocalInputs),
    /// The latest complete extract already in the lake.
    LatestExtract { ratings: String },
    /// Data generated at `generate.scale` and `generate.seed`.
    Generate,
}

/// What a run tells its caller as it goes. Every method has a default that
/// ignores the event; `()` is the observer that hears nothing.
pub trait Observer {
    fn extracted(&mut self, _manifest: &Manifest) {}
    fn generating(&mut self, _scale: f64, _seed: u64, _into: &str) {}
    fn staged(&mut self, _summary: &StageSummary) {}
    fn mapped(&mut self, _outcomes: &[RatingOutcome]) {}
    /// A check report: the run's, before publishing; the warehouse's, after the load.
    fn checked(&mut self, _report: &CheckReport) {}
    fn pruned(&mut self, _pruned: &Pruned) {}
    fn loaded(&mut self, _summary: &LoadSummary) {}
    fn stage_done(&mut self, _stage: &StageTime) {}
}

impl Observer for () {}

/// What a finished run did.
#[derive(Debug)]
pub struct RunOutcome {
    pub run_id: String,
    pub answers: Answers,
    /// Lake key of the report page.
    pub report_key: String,
    pub stages: Vec<StageTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("extract: {0}")]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Inputs(#[from] InputError),
    #[error(
        "lake {lake} has no raw files: pass --input DIR (and --cpi FILE), run `movielens extract`, \
         or use `movielens run` to generate data"
    )]
    NoRawFiles { lake: String },
    #[error("generating data: {0}")]
    Generate(#[from] GenerateError),
    #[error("generating data: {0}")]
    TempDir(#[from] std::io::Error),
    #[error("staging: {0}")]
    Stage(#[from] StageError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("transform: {0}")]
    Transform(#[from] TransformError),
    #[error(transparent)]
    Answers(#[from] answers::AnswersError),
    #[error(
        "run {run_id} was not published; the previous published run is unchanged \
         (`movielens runs` lists both): {source}"
    )]
    NotPublished {
        run_id: String,
        #[source]
        source: ChecksFailed,
    },
    #[error(transparent)]
    Publish(PublishError),
    #[error("loading the warehouse: {0}")]
    Load(#[from] WarehouseError),
    #[error("data-quality checks on the warehouse: {0}")]
    Checks(#[from] CheckError),
    #[error(transparent)]
    ChecksFailed(#[from] ChecksFailed),
    #[error("building the report: {0}")]
    Report(#[from] ReportError),
    #[error(transparent)]
    Lake(#[from] LakeError),
}

/// The raw inputs of `source`, landed in the lake under `run_id`.
pub async fn land_inputs(
    settings: &Settings,
    lake: &Lake,
    source: &Source,
    run_id: &str,
    observer: &mut dyn Observer,
) -> Result<RawInputs, RunError> {
    let split = CsvSplit::for_ratings(settings);
    match source {
        Source::Extract { ratings } => {
            let manifest = extract::extract(settings, lake, run_id).await?;
            observer.extracted(&manifest);
            latest_extract(settings, lake, ratings).await
        }
        Source::Files(local) => Ok(local.land(lake, split, run_id).await?),
        Source::LatestExtract { ratings } => latest_extract(settings, lake, ratings).await,
        Source::Generate => {
            let (scale, seed) = (settings.generate.scale, settings.generate.seed);
            observer.generating(scale, seed, lake.root());
            super::generate_into_lake(lake, scale, seed, split, run_id).await
        }
    }
}

/// The inputs of the latest complete extract in the lake (ratings from the
/// file named `ratings`).
async fn latest_extract(
    settings: &Settings,
    lake: &Lake,
    ratings: &str,
) -> Result<RawInputs, RunError> {
    let manifest = extract::latest(lake)
        .await?
        .ok_or_else(|| RunError::NoRawFiles {
            lake: lake.root().into(),
        })?;
    let cpi_file = format!("{}.csv", settings.extract.fred_series);
    Ok(manifest.raw_inputs(ratings, &cpi_file)?)
}

/// Runs every stage in order under `run_id`. A run whose checks fail is not
/// published (the previous published run stays) and nothing after that runs.
pub async fn run(
    settings: &Settings,
    lake: &Lake,
    source: &Source,
    run_id: &str,
    observer: &mut dyn Observer,
) -> Result<RunOutcome, RunError> {
    let mut stages: Vec<StageTime> = Vec::new();
    let done = |observer: &mut dyn Observer, stage: &str, started: Instant, rows: Option<u64>| {
        let time = StageTime {
            stage: stage.into(),
            seconds: started.elapsed().as_secs_f64(),
            rows,
        };
        observer.stage_done(&time);
        time
    };

    let started = Instant::now();
    let inputs = land_inputs(settings, lake, source, run_id, observer).await?;
    let landing = match source {
        Source::Extract { .. } => "extract",
        Source::Generate => "generate",
        _ => "land",
    };
    stages.push(done(observer, landing, started, None));

    let started = Instant::now();
    let staged = staging::stage(lake, &inputs, run_id).await?;
    observer.staged(&staged);
    stages.push(done(
        observer,
        "stage",
        started,
        staged.tables.get("movies").copied(),
    ));

    let started = Instant::now();
    let engine = Engine::connect(settings, lake).await?;
    let summary = transform::transform(&engine, lake, settings, run_id).await?;
    let facts = summary
        .tables
        .iter()
        .find(|t| t.0 == "fact_rating")
        .map(|t| t.1);
    stages.push(done(observer, "transform", started, facts));
    drop(engine);
    observer.mapped(&answers::rating_mapping(lake, Which::Run(run_id)).await?);

    let started = Instant::now();
    match runs::check_and_publish(settings, lake, run_id).await {
        Ok(report) => observer.checked(&report),
        Err(PublishError::Failed { report, .. }) => {
            observer.checked(&report);
            stages.push(done(observer, "check", started, None));
            let source = report
                .judge()
                .expect_err("PublishError::Failed holds a report with failed checks");
            return Err(RunError::NotPublished {
                run_id: run_id.into(),
                source,
            });
        }
        Err(e) => return Err(RunError::Publish(e)),
    }
    stages.push(done(observer, "check", started, None));

    if settings.run.keep_runs > 0 {
        observer.pruned(&runs::prune(lake, settings.run.keep_runs).await?);
    }

    if settings.warehouse.kind != WarehouseKind::None {
        let started = Instant::now();
        let loaded = warehouse::load(settings, lake, Some(run_id)).await?;
        observer.loaded(&loaded);
        stages.push(done(observer, "load", started, Some(loaded.rows())));
        let started = Instant::now();
        let report = checks::check(settings, lake).await?;
        stages.push(done(
            observer,
            "check warehouse",
            started,
            Some(report.checks.len() as u64),
        ));
        observer.checked(&report);
        report.judge()?;
    }

    let started = Instant::now();
    let answers = answers::read(lake).await?;
    stages.push(done(observer, "answers", started, None));

    let started = Instant::now();
    report::record_stages(lake, run_id, &stages).await?;
    let html = report::build(lake, &answers).await?;
    let report_key = report::report_key(run_id);
    lake.put(&report_key, html.into_bytes()).await?;
    stages.push(done(observer, "report", started, None));
    Ok(RunOutcome {
        run_id: run_id.into(),
        answers,
        report_key,
        stages,
    })
}
