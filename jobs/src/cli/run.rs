//! `movielens run`: the whole pipeline. With no input it generates a small
//! dataset into the lake first (and says so).

use movielens::config::Settings;
use movielens::lake::Lake;
use movielens::pipeline::{self, LocalInputs, Observer, Source};
use tracing::info;

use super::answers::{Format, print};
use super::stage::{InputArgs, print_rejects};
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
    let source = if args.extract {
        Source::Extract {
            ratings: args.inputs.ratings.clone(),
        }
    } else if let Some(dir) = &args.inputs.input {
        Source::Files(LocalInputs::find(
            dir,
            &args.inputs.ratings,
            args.inputs.cpi.as_deref(),
        )?)
    } else {
        Source::Generate
    };
    let mut printer = Printer::default();
    let outcome = pipeline::run(&settings, &lake, &source, &run_id, &mut printer).await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            printer.times.print();
            return Err(e.into());
        }
    };
    print(&outcome.answers, args.format)?;
    printer.times.print();
    eprintln!("run {run_id} published in {}", lake.root());
    eprintln!("report written to {}", lake.url(&outcome.report_key));
    Ok(())
}

/// Prints each stage's outcome as the pipeline reports it (stderr: stdout
/// carries only the answers), and the stage times at the end.
#[derive(Default)]
struct Printer {
    times: StageTimes,
}

impl Observer for Printer {
    fn extracted(&mut self, manifest: &movielens::extract::Manifest) {
        super::extract::print_manifest(manifest);
    }
    fn generating(&mut self, scale: f64, seed: u64, into: &str) {
        eprintln!("no --input given: generating scale {scale} data (seed {seed}) into {into}/raw");
    }
    fn staged(&mut self, summary: &movielens::staging::StageSummary) {
        print_rejects(summary);
    }
    fn mapped(&mut self, outcomes: &[movielens::answers::RatingOutcome]) {
        for o in outcomes {
            eprintln!(
                "ratings {:<24} {:>12}  ({} MovieLens ids)",
                o.outcome, o.n_ratings, o.n_movielens_ids
            );
        }
    }
    fn checked(&mut self, report: &movielens::checks::CheckReport) {
        eprint!("{}", movielens::checks::render_text(report));
    }
    fn pruned(&mut self, pruned: &movielens::runs::Pruned) {
        super::prune::report(pruned);
    }
    fn loaded(&mut self, summary: &movielens::warehouse::LoadSummary) {
        super::load::print_summary(summary);
    }
    fn stage_done(&mut self, stage: &movielens::report::StageTime) {
        self.times.push(stage.clone());
    }
}
