//! `movielens config`: the effective configuration after every layer.

use movielens::config::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn execute(_args: Args, settings: &Settings) -> anyhow::Result<()> {
    print!("{}", settings.to_masked_toml());
    Ok(())
}
