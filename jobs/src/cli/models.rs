//! `movielens models`: the catalogue of models, for people and for scripts
//! (the benchmark reads its list of marts and their inputs from it, so it
//! compares every mart without a list of its own).

use movielens::transform::dependencies;
use movielens::warehouse::schema::TABLES;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON array instead of a text table.
    #[arg(long)]
    json: bool,
}

pub fn execute(args: Args, _settings: &movielens::config::Settings) -> anyhow::Result<()> {
    let models: Vec<serde_json::Value> = TABLES
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "file": t.step.file,
                "mart": t.is_mart(),
                "key": t.key,
                "columns": t.columns.iter().map(|c| c.name).collect::<Vec<_>>(),
                "reads": dependencies(&t.step),
            })
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&models)?);
        return Ok(());
    }
    for t in TABLES {
        let kind = if t.is_mart() { "mart" } else { "curated" };
        let reads = dependencies(&t.step).join(", ");
        println!(
            "{:<24} {kind:<8} {:<46} reads: {reads}",
            t.name, t.step.file
        );
    }
    Ok(())
}
