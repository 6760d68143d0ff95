//! The check table a person reads: check, result, observed value, rule.

use super::{CheckReport, Rule};

fn observed(value: f64, rule: Rule) -> String {
    match rule {
        Rule::AtMost(_) => format!("{value:.6}"),
        _ => format!("{}", value as i64),
    }
}

fn expected(rule: Rule) -> String {
    match rule {
        Rule::Equals(v) => format!("= {v}"),
        Rule::AtLeast(v) => format!(">= {v}"),
        Rule::AtMost(v) => format!("<= {v}"),
    }
}

/// The report as a text table with a closing line.
pub fn render_text(report: &CheckReport) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.check.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "data-quality checks on {} (run {})\n{:<width$}  {:<6}  {:>14}  expected\n",
        report.target, report.run_id, "check", "result", "observed"
    );
    for c in &report.checks {
        out += &format!(
            "{:<width$}  {:<6}  {:>14}  {}\n",
            c.check,
            if c.passed { "PASS" } else { "FAIL" },
            observed(c.observed, c.expected),
            expected(c.expected)
        );
    }
    let failed = report.failed().len();
    out += &format!(
        "{} checks: {} passed, {failed} failed\n",
        report.checks.len(),
        report.checks.len() - failed
    );
    out
}
