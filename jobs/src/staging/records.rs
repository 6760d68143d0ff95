//! RFC 4180 records with the Kaggle quirks repaired or rejected.
//!
//! The `csv` crate does the quoting (quoted commas, line breaks, `""` escapes, CRLF
//! or LF). What it cannot know is that an *unquoted* line break inside
//! `movies_metadata.overview` cut three records in two. Such a stub has too few
//! fields; when the record after it supplies exactly the missing ones, the two are
//! joined (stub's last field + "\n" + fragment's first field). A short or long
//! record that nothing completes is rejected on its own and its neighbours kept.

use super::Reject;

/// One record as read, before typing.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// 1-based line of the file where the record starts.
    pub line: u64,
    pub fields: Vec<String>,
}

/// Why a file could not be read at all (as opposed to a record being rejected).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{file}: header is {found:?}, expected {expected:?}")]
    Header {
        file: String,
        found: Vec<String>,
        expected: Vec<String>,
    },
    #[error("{file}: line {line}: {source}")]
    Csv {
        file: String,
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error("{file}: empty file, expected a header line")]
    Empty { file: String },
}

/// Reads `bytes` (a whole CSV file named `file`) into records of `header.len()`
/// fields, repairing split records. Returns the good records and the rejects
/// (repaired records appear there too, as changed).
pub fn read_records(
    file: &str,
    bytes: &[u8],
    header: &[&str],
) -> Result<(Vec<RawRecord>, Vec<Reject>), ReadError> {
    let all = read_all(file, bytes)?;
    let ((head, _), body) = all
        .split_first()
        .ok_or_else(|| ReadError::Empty { file: file.into() })?;
    let found: Vec<String> = head
        .fields
        .iter()
        .map(|f| f.trim_start_matches('\u{feff}').to_string())
        .collect();
    if found != header {
        return Err(ReadError::Header {
            file: file.into(),
            found,
            expected: header.iter().map(|s| s.to_string()).collect(),
        });
    }
    Ok(repair(file, body, header.len()))
}

/// Every record with its raw text, header included.
pub(crate) fn read_all(file: &str, bytes: &[u8]) -> Result<Vec<(RawRecord, String)>, ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut out = Vec::new();
    let mut record = csv::ByteRecord::new();
    // The csv crate's line count skips quoted line breaks; count physical lines.
    let (mut counted_to, mut line) = (0usize, 1u64);
    loop {
        let start = reader.position().clone();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(source) => {
                return Err(ReadError::Csv {
                    file: file.into(),
                    line: start.line(),
                    source,
                });
            }
        }
        // After a CRLF record the reader may still stand on its '\n'.
        let mut begin = start.byte() as usize;
        while begin < bytes.len() && matches!(bytes[begin], b'\r' | b'\n') {
            begin += 1;
        }
        line += bytes[counted_to..begin]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        counted_to = begin;
        let end = reader.position().byte() as usize;
        let raw = String::from_utf8_lossy(&bytes[begin.min(end)..end])
            .trim_end_matches(['\r', '\n'])
            .to_string();
        let fields = record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        out.push((RawRecord { line, fields }, raw));
    }
    Ok(out)
}

fn repair(file: &str, body: &[(RawRecord, String)], width: usize) -> (Vec<RawRecord>, Vec<Reject>) {
    let mut good = Vec::with_capacity(body.len());
    let mut rejects = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let (rec, raw) = &body[i];
        // A blank line reads as one empty field: nothing to keep or report.
        if rec.fields.len() == 1 && rec.fields[0].is_empty() {
            i += 1;
            continue;
        }
        if rec.fields.len() == width {
            good.push(rec.clone());
            i += 1;
            continue;
        }
        if rec.fields.len() < width
            && let Some((next, next_raw)) = body.get(i + 1)
            && rec.fields.len() + next.fields.len() - 1 == width
        {
            let mut fields = rec.fields.clone();
            let last = fields.pop().unwrap_or_default();
            fields.push(format!("{last}\n{}", next.fields[0]));
            fields.extend(next.fields[1..].iter().cloned());
            rejects.push(Reject::changed(
                file,
                rec.line,
                "split_record_repaired",
                format!("joined with the fragment on line {}", next.line),
                format!("{raw}\n{next_raw}"),
            ));
            good.push(RawRecord {
                line: rec.line,
                fields,
            });
            i += 2;
            continue;
        }
        rejects.push(Reject::dropped(
            file,
            rec.line,
            "wrong_field_count",
            format!("{} fields, expected {width}", rec.fields.len()),
            raw.clone(),
        ));
        i += 1;
    }
    (good, rejects)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: [&str; 4] = ["a", "b", "c", "d"];

    #[test]
    fn quoted_commas_line_breaks_escapes_and_crlf() {
        let text = "a,b,c,d\r\n1,\"x, y\",\"two\nlines\",\"say \"\"hi\"\"\"\r\n2,,,\r\n";
        let (recs, rejects) = read_records("t.csv", text.as_bytes(), &H).unwrap();
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(recs[0].fields, ["1", "x, y", "two\nlines", "say \"hi\""]);
        assert_eq!(recs[1].fields, ["2", "", "", ""]);
        assert_eq!(recs[1].line, 4);
    }

    #[test]
    fn split_record_is_repaired_when_the_next_record_completes_it() {
        // Stub has fields a,b,c-part1; fragment has c-part2,d.
        let text = "a,b,c,d\n1,x,first half\nsecond half,9\n2,y,z,8\n";
        let (recs, rejects) = read_records("t.csv", text.as_bytes(), &H).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].fields, ["1", "x", "first half\nsecond half", "9"]);
        assert_eq!(recs[1].fields, ["2", "y", "z", "8"]);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].reason, "split_record_repaired");
        assert_eq!(rejects[0].action, "changed");
        assert_eq!(rejects[0].line, 2);
    }

    #[test]
    fn short_record_nothing_completes_is_rejected_alone() {
        let text = "a,b,c,d\n1,x,y,z\n2,stub\n3,p,q,r\n4,too,many,fields,here\n";
        let (recs, rejects) = read_records("t.csv", text.as_bytes(), &H).unwrap();
        let ids: Vec<_> = recs.iter().map(|r| r.fields[0].as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
        let lines: Vec<_> = rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(lines, [(3, "wrong_field_count"), (5, "wrong_field_count")]);
        assert_eq!(rejects[0].raw, "2,stub");
    }

    #[test]
    fn wrong_header_names_the_file() {
        let err = read_records("links.csv", b"x,y\n1,2\n", &H)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("links.csv") && err.contains("expected"),
            "{err}"
        );
    }
}
