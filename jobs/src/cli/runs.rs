//! `movielens runs`: every curated run of the lake with its state, oldest first;
//! `movielens runs --compare A B`: whether two runs hold the same tables.

use movielens::config::Settings;
use movielens::lake::Lake;

use super::answers::Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Compare the tables of two curated runs (row counts and content digests,
    /// floats to 10 significant digits); exits 1 when they differ.
    #[arg(long, num_args = 2, value_names = ["RUN_A", "RUN_B"], value_parser = movielens::run_id::parse)]
    compare: Option<Vec<String>>,
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    if let Some(pair) = &args.compare {
        return compare(&lake, &pair[0], &pair[1], args.format).await;
    }
    let runs = movielens::runs::list(&lake).await?;
    if let Format::Json = args.format {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    println!(
        "{:<32}  {:<10}  {:<25}  {:>12}  failed checks",
        "run", "state", "completed", "fact rows"
    );
    for r in &runs {
        println!(
            "{:<32}  {:<10}  {:<25}  {:>12}  {}",
            r.run_id,
            r.state.name(),
            r.completed_at.as_deref().unwrap_or("-"),
            r.fact_rows
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            r.failed_checks.join(", ")
        );
    }
    if runs.is_empty() {
        println!("(no runs in {})", lake.root());
    }
    Ok(())
}

async fn compare(lake: &Lake, a: &str, b: &str, format: Format) -> anyhow::Result<()> {
    use movielens::fingerprint::of_run;
    let (fa, fb) = (of_run(lake, a).await?, of_run(lake, b).await?);
    let mut tables: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    tables.sort();
    tables.dedup();
    let differing: Vec<&String> = tables
        .iter()
        .copied()
        .filter(|t| fa.get(*t) != fb.get(*t))
        .collect();
    if let Format::Json = format {
        let report = serde_json::json!({ "runs": [a, b], "tables": { a: &fa, b: &fb }, "differing": &differing });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{:<28}  {:>12}  {:>12}  same", "table", a, b);
        for t in &tables {
            let rows = |f: &std::collections::BTreeMap<
                String,
                movielens::fingerprint::TableFingerprint,
            >| {
                f.get(*t)
                    .map(|x| x.rows.to_string())
                    .unwrap_or_else(|| "-".into())
            };
            let same = if differing.contains(t) { "NO" } else { "yes" };
            println!("{:<28}  {:>12}  {:>12}  {same}", t, rows(&fa), rows(&fb));
        }
    }
    if differing.is_empty() {
        eprintln!("runs {a} and {b} hold the same {} tables", tables.len());
        Ok(())
    } else {
        anyhow::bail!(
            "runs {a} and {b} differ in {}: {}",
            if differing.len() == 1 {
                "one table"
            } else {
                "these tables"
            },
            differing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
