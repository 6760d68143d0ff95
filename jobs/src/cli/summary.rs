//! The closing table of a run: stage, duration, rows.

use std::time::{Duration, Instant};

#[derive(Default)]
pub struct StageTimes {
    rows: Vec<(String, Duration, Option<u64>)>,
}

impl StageTimes {
    /// Records a finished stage that started at `started`.
    pub fn record(&mut self, stage: &str, started: Instant, rows: Option<u64>) {
        self.rows.push((stage.to_string(), started.elapsed(), rows));
    }

    /// The stages so far, as the report's lineage panel lists them.
    pub fn stages(&self) -> Vec<movielens::report::StageTime> {
        self.rows
            .iter()
            .map(|(stage, took, rows)| movielens::report::StageTime {
                stage: stage.clone(),
                seconds: took.as_secs_f64(),
                rows: *rows,
            })
            .collect()
    }

    /// Printed on stderr so stdout stays answers only.
    pub fn print(&self) {
        eprintln!("{:<12} {:>10} {:>14}", "stage", "seconds", "rows");
        let mut total = Duration::ZERO;
        for (stage, took, rows) in &self.rows {
            total += *took;
            let rows = rows.map(|r| r.to_string()).unwrap_or_default();
            eprintln!("{stage:<12} {:>10.2} {rows:>14}", took.as_secs_f64());
        }
        eprintln!("{:<12} {:>10.2}", "total", total.as_secs_f64());
    }
}
