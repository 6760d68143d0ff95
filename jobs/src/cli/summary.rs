//! The closing table of a run: stage, duration, rows.

use std::time::Duration;

#[derive(Default)]
pub struct StageTimes {
    rows: Vec<(String, Duration, Option<u64>)>,
}

impl StageTimes {
    /// Records a stage the pipeline timed.
    pub fn push(&mut self, stage: movielens::report::StageTime) {
        self.rows.push((
            stage.stage,
            Duration::from_secs_f64(stage.seconds),
            stage.rows,
        ));
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
