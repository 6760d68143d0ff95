//! FRED: the CPI series as CSV, validated before it is landed.

use std::path::Path;

use super::ExtractError;
use crate::staging::cpi;

/// `{base}/graph/fredgraph.csv?id=SERIES[&cosd=START][&coed=END]`.
pub fn download_url(base: &str, series: &str, start: &str, end: &str) -> String {
    let mut url = format!(
        "{}/graph/fredgraph.csv?id={series}",
        base.trim_end_matches('/')
    );
    if !start.is_empty() {
        url.push_str(&format!("&cosd={start}"));
    }
    if !end.is_empty() {
        url.push_str(&format!("&coed={end}"));
    }
    url
}

/// Checks a downloaded series: an HTML page (FRED serves error pages with
/// status 200) or a file our CPI reader rejects is an error naming the URL.
pub fn validate(path: &Path, url: &str) -> Result<usize, ExtractError> {
    let bytes = std::fs::read(path).map_err(|e| ExtractError::BadCsv {
        url: url.into(),
        detail: e.to_string(),
    })?;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    if head.trim_start().starts_with('<') || head.contains("<html") {
        return Err(ExtractError::BadCsv {
            url: url.into(),
            detail: "the server sent an HTML page, not CSV".into(),
        });
    }
    let (series, _) = cpi::stage("fredgraph.csv", &bytes).map_err(|e| ExtractError::BadCsv {
        url: url.into(),
        detail: e.to_string(),
    })?;
    if series.months.is_empty() {
        return Err(ExtractError::BadCsv {
            url: url.into(),
            detail: "no observations".into(),
        });
    }
    Ok(series.months.len())
}
