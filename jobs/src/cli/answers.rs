//! `movielens answers`: the four answers from the published marts.

use movielens::answers::{self, Answers};
use movielens::config::Settings;
use movielens::lake::Lake;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub fn print(answers: &Answers, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Table => print!("{}", answers::render_text(answers)),
        Format::Json => println!("{}", serde_json::to_string_pretty(answers)?),
    }
    Ok(())
}

pub async fn execute(args: Args, settings: &Settings) -> anyhow::Result<()> {
    let lake = Lake::open(settings)?;
    let answers = answers::read(&lake).await?;
    print(&answers, args.format)
}
