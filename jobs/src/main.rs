//! The `movielens` command line: the CLI edge, where errors become messages and
//! exit codes (0 success, 1 failure, 2 usage) that Airflow can trust.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let runtime = match movielens::engine::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(cli::run(args));
    // Engine tasks still winding down after a stop get a moment, not forever.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    movielens::engine::remove_dropped_work_dirs();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            match e.downcast_ref::<cli::Stopped>() {
                Some(stopped) => ExitCode::from(stopped.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// The most of an error line printed: errors quote input text (a header, a
/// line), and one line of a file with no line breaks can be megabytes.
const MAX_MESSAGE_CHARS: usize = 2000;

/// The error and its causes on one line, each cause once: our errors already
/// quote their source, so a cause contained in the text so far is skipped.
/// Cut to [`MAX_MESSAGE_CHARS`], keeping its start and end (where the file,
/// line and advice are).
fn message(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    clip(&text, MAX_MESSAGE_CHARS)
}

fn clip(text: &str, max: usize) -> String {
    let chars = text.chars().count();
    if chars <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max * 3 / 4).collect();
    let tail: String = text.chars().skip(chars - max / 4).collect();
    format!(
        "{head} […{} characters cut…] {tail}",
        chars - head.chars().count() - tail.chars().count()
    )
}
