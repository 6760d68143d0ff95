//! The FRED CPI series (monthly, dated the 1st of the month).
//!
//! FRED has written the date column as `DATE`, `"Date"` and `observation_date`,
//! and writes `.` where a month has no value. Such a month stays in the series
//! with no value, so "is this month in the window" and "has it a value" differ.

use chrono::{Datelike, NaiveDate};

use super::records::{ReadError, read_all};
use super::{Reject, parse_date, parse_float};

#[derive(Debug, Clone, PartialEq)]
pub struct CpiMonth {
    /// First day of the month.
    pub month: NaiveDate,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CpiSeries {
    pub series_id: String,
    pub months: Vec<CpiMonth>,
}

/// A price index is positive (real revenue divides by it) and this series is
/// near 100 at its base; 10,000 would be a hundredfold rise in admission
/// prices. Values outside (0, MAX_CPI] are not CPI values: a 0 made every
/// real revenue 0.0 and 1e308 made them vanish.
pub const MAX_CPI: f64 = 10_000.0;

const DATE_HEADERS: [&str; 3] = ["date", "observation_date", "observation date"];

/// Parses a FRED `fredgraph.csv` download named `file`.
pub fn stage(file: &str, bytes: &[u8]) -> Result<(CpiSeries, Vec<Reject>), ReadError> {
    let all = read_all(file, bytes)?;
    let ((head, _), body) = all
        .split_first()
        .ok_or_else(|| ReadError::Empty { file: file.into() })?;
    let date_col = head
        .fields
        .first()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase());
    let series_id = head
        .fields
        .get(1)
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    if head.fields.len() != 2
        || !date_col.is_some_and(|c| DATE_HEADERS.contains(&c.as_str()))
        || series_id.is_empty()
    {
        return Err(ReadError::Header {
            file: file.into(),
            found: head.fields.clone(),
            expected: vec![
                "DATE | Date | observation_date".into(),
                "<series id>".into(),
            ],
        });
    }
    let mut months: Vec<CpiMonth> = Vec::with_capacity(body.len());
    let mut rejects = Vec::new();
    for (r, raw) in body {
        if r.fields.len() == 1 && r.fields[0].is_empty() {
            continue;
        }
        let date = r.fields.first().and_then(|d| parse_date(d.trim()));
        let (Some(date), 2) = (date, r.fields.len()) else {
            rejects.push(Reject::dropped(
                file,
                r.line,
                "bad_row",
                "expected DATE,VALUE with a YYYY-MM-DD date".into(),
                raw.clone(),
            ));
            continue;
        };
        let month = date.with_day(1).expect("day 1 exists");
        if months.last().is_some_and(|m| m.month >= month) {
            rejects.push(Reject::dropped(
                file,
                r.line,
                "out_of_order_month",
                format!("{month} is not after the previous month"),
                raw.clone(),
            ));
            continue;
        }
        let text = r.fields[1].trim();
        let value = match text {
            "." | "" => None,
            _ => match parse_float(text) {
                Some(v) if v > 0.0 && v <= MAX_CPI => Some(v),
                Some(v) => {
                    rejects.push(Reject::changed(
                        file,
                        r.line,
                        "implausible_value",
                        format!(
                            "{month}: value {v} is outside (0, {MAX_CPI}], the range of a price index; set to NULL"
                        ),
                        raw.clone(),
                    ));
                    None
                }
                None => {
                    rejects.push(Reject::changed(
                        file,
                        r.line,
                        "bad_value",
                        format!("{month}: value {text:?} set to NULL"),
                        raw.clone(),
                    ));
                    None
                }
            },
        };
        months.push(CpiMonth { month, value });
    }
    Ok((CpiSeries { series_id, months }, rejects))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(y: i32, m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, 1).unwrap()
    }

    #[test]
    fn header_variants_are_accepted() {
        for header in [
            "DATE,CUSR0000SS62031",
            "\"Date\",\"CUSR0000SS62031\"",
            "observation_date,CUSR0000SS62031",
        ] {
            let text = format!("{header}\n1999-01-01,102.700\n1999-02-01,103.7\n");
            let (s, rejects) = stage("cpi.csv", text.as_bytes()).unwrap();
            assert!(rejects.is_empty());
            assert_eq!(s.series_id, "CUSR0000SS62031");
            assert_eq!(
                s.months,
                vec![
                    CpiMonth {
                        month: ym(1999, 1),
                        value: Some(102.7)
                    },
                    CpiMonth {
                        month: ym(1999, 2),
                        value: Some(103.7)
                    },
                ]
            );
        }
    }

    #[test]
    fn dot_is_a_month_without_a_value() {
        let text = "DATE,X\n2020-04-01,.\n2020-05-01,250.1\n";
        let (s, _) = stage("cpi.csv", text.as_bytes()).unwrap();
        assert_eq!(
            s.months[0],
            CpiMonth {
                month: ym(2020, 4),
                value: None
            }
        );
        assert_eq!(s.months[1].value, Some(250.1));
    }

    #[test]
    fn wrong_header_and_bad_rows() {
        let err = stage("cpi.csv", b"<html>\n<body>oops</body>\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cpi.csv") && err.contains("header"), "{err}");
        let (s, rejects) = stage(
            "cpi.csv",
            b"DATE,X\n2020-01-01,1\nnot-a-date,2\n2020-01-01,3\n2020-02-01,abc\n",
        )
        .unwrap();
        assert_eq!(s.months.len(), 2);
        let reasons: Vec<_> = rejects.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, ["bad_row", "out_of_order_month", "bad_value"]);
    }

    #[test]
    fn values_that_are_no_price_index_become_null_with_their_line() {
        let text = "DATE,X\n2020-01-01,0\n2020-02-01,-5\n2020-03-01,1e308\n2020-04-01,inf\n2020-05-01,250.1\n";
        let (s, rejects) = stage("cpi.csv", text.as_bytes()).unwrap();
        let values: Vec<_> = s.months.iter().map(|m| m.value).collect();
        assert_eq!(values, [None, None, None, None, Some(250.1)]);
        let got: Vec<_> = rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "implausible_value"),
                (3, "implausible_value"),
                (4, "implausible_value"),
                (5, "bad_value"),
            ]
        );
    }
}
