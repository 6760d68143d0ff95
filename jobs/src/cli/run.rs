//! `movielens run`: the whole pipeline. With no input it generates a small
//! dataset into the lake first (and says so).

use std::time::Instant;

use anyhow::Context;
use movielens::config::Settings;
use movielens::engine::Engine;
use movielens::lake::Lake;
use movielens::transform::Which;
use movielens::{answers, pipeline, report, staging, transform};
use tracing::info;

use super::answers::{Format, print};
use super::stage::{InputArgs, print_rejects, raw_inputs};
use super::summary::StageTimes;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    inputs: InputArgs,
    /// Ballista scheduler, df://HOST:PORT (default: the embedded engine).
    #[arg(long, value_name = "URL")]
    scheduler: Option<String>,
    /// Run id (default: a new one). Rerunning a run id replaces its tables.
    #[arg(long, value_parser = movielens::run_id::parse)]
    run_id: Option<String>,
    /// Download the inputs from Kaggle and FRED first (`[extract]` config).
    #[arg(long, conflicts_with = "input")]
    extract: bool,
    /// How to print the answers.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn execute(args: Args, mut settings: Settings) -> anyhow::Result<()> {
    if let Some(url) = args.scheduler {
        settings.engine.scheduler = url;
    }
    let lake = Lake::open(&settings)?;
    let _lock = super::lock::acquire(&lake, &settings, "run").await?;
    let run_id = args.run_id.unwrap_or_else(pipeline::new_run_id);
    info!(run_id, lake = lake.root(), "run started");
    let mut times = StageTimes::default();

    let started = Instant::now();
    let inputs = if args.extract {
        super::extract::land(&settings, &lake, &run_id).await?;
        let inputs = raw_inputs(&args.inputs, &lake, &settings, &run_id).await?;
        times.record("extract", started, None);
        inputs
    } else if args.inputs.input.is_none() {
        let (scale, seed) = (settings.generate.scale, settings.generate.seed);
        eprintln!(
            "no --input given: generating scale {scale} data (seed {seed}) into {}/raw",
            lake.root()
        );
        let inputs = pipeline::generate_into_lake(
            &lake,
            scale,
            seed,
            settings.engine.ratings_part_bytes,
            &run_id,
        )
        .await
        .context("generating data")?;
        times.record("generate", started, None);
        inputs
    } else {
        let inputs = raw_inputs(&args.inputs, &lake, &settings, &run_id).await?;
        times.record("land", started, None);
        inputs
    };

    let started = Instant::now();
    let staged = staging::stage(&lake, &inputs, &run_id)
        .await
        .context("staging")?;
    print_rejects(&staged);
    times.record("stage", started, staged.tables.get("movies").copied());

    let started = Instant::now();
    let engine = Engine::connect(&settings, &lake).await?;
    let summary = transform::transform(&engine, &lake, &settings, &run_id)
        .await
        .context("transform")?;
    let facts = summary
        .tables
        .iter()
        .find(|t| t.0 == "fact_rating")
        .map(|t| t.1);
    times.record("transform", started, facts);
    drop(engine);
    // The run's own outcomes: it is not published yet.
    for o in answers::rating_mapping(&lake, Which::Run(&run_id))
        .await
        .context("reading rating_mapping")?
    {
        eprintln!(
            "ratings {:<24} {:>12}  ({} MovieLens ids)",
            o.outcome, o.n_ratings, o.n_movielens_ids
        );
    }

    // Checked by its id on the lake; only a run that passes becomes the one
    // readers (and the warehouse load) see. A failed run changes nothing.
    let started = Instant::now();
    let published = super::publish::publish_after_checks(&settings, &lake, &run_id, false).await;
    times.record("check", started, None);
    if let Err(e) = published {
        times.print();
        return Err(e.context(format!(
            "run {run_id} was not published; the previous published run is unchanged \
             (`movielens runs` lists both)"
        )));
    }

    if settings.run.keep_runs > 0 {
        let pruned = movielens::runs::prune(&lake, settings.run.keep_runs).await?;
        super::prune::report(&pruned);
    }

    if settings.warehouse.kind != movielens::config::WarehouseKind::None {
        let started = Instant::now();
        let loaded = movielens::warehouse::load(&settings, &lake, Some(&run_id))
            .await
            .context("loading the warehouse")?;
        super::load::print_summary(&loaded);
        times.record("load", started, Some(loaded.rows()));
        let started = Instant::now();
        let report = movielens::checks::check(&settings, &lake)
            .await
            .context("data-quality checks on the warehouse")?;
        times.record("check warehouse", started, Some(report.checks.len() as u64));
        // On stderr: stdout carries the answers only (e.g. --format json).
        eprint!("{}", movielens::checks::render_text(&report));
        if let Err(e) = super::check::judge(&report) {
            times.print();
            return Err(e);
        }
    }

    let started = Instant::now();
    let answers = answers::read(&lake).await.context("reading answers")?;
    times.record("answers", started, None);
    print(&answers, args.format)?;

    // The report lives with the run in the lake: reports/<run_id>/report.html.
    let started = Instant::now();
    report::record_stages(&lake, &run_id, &times.stages()).await?;
    let html = report::build(&lake, &answers)
        .await
        .context("building the report")?;
    let key = report::report_key(&run_id);
    lake.put(&key, html.into_bytes()).await?;
    times.record("report", started, None);
    times.print();
    eprintln!("run {run_id} published in {}", lake.root());
    eprintln!("report written to {}", lake.url(&key));
    Ok(())
}
