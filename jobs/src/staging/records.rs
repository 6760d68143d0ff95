//! RFC 4180 records with the Kaggle quirks repaired or rejected.
//!
//! The `csv` crate does the quoting (quoted commas, line breaks, `""` escapes, CRLF
//! or LF). What it cannot know is that an *unquoted* line break inside
//! `movies_metadata.overview` cut three records in two. Such a stub has too few
//! fields; when the record after it supplies exactly the missing ones, the two are
//! joined (stub's last field + "\n" + fragment's first field). A short or long
//! record that nothing completes is rejected on its own and its neighbours kept.

use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

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
    #[error("{file}: header is {}, expected {expected:?}", clipped(found))]
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

/// What reading a file yields, in file order: a good record, or a reject (a
/// repaired record yields its `changed` reject just before the record).
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Record(RawRecord),
    Reject(Reject),
}

/// A header as found, cut to what a person can read: a file that is not
/// CSV (or has no line breaks) makes its first "line" enormous.
fn clipped(found: &[String]) -> String {
    const FIELDS: usize = 30;
    const CHARS: usize = 80;
    let mut shown: Vec<String> = found
        .iter()
        .take(FIELDS)
        .map(|f| match f.char_indices().nth(CHARS) {
            Some((at, _)) => format!("{:?}…", &f[..at]),
            None => format!("{f:?}"),
        })
        .collect();
    if found.len() > FIELDS {
        shown.push(format!("… {} more fields", found.len() - FIELDS));
    }
    format!("[{}]", shown.join(", "))
}

/// Reads `bytes` (a whole CSV file named `file`) into records of `header.len()`
/// fields, repairing split records. Returns the good records and the rejects
/// (repaired records appear there too, as changed). For files too large to
/// hold, [`Records`] yields the same one at a time.
pub fn read_records(
    file: &str,
    bytes: &[u8],
    header: &[&str],
) -> Result<(Vec<RawRecord>, Vec<Reject>), ReadError> {
    let (mut good, mut rejects) = (Vec::new(), Vec::new());
    for item in Records::new(file, bytes, header)? {
        match item? {
            Item::Record(r) => good.push(r),
            Item::Reject(r) => rejects.push(r),
        }
    }
    Ok((good, rejects))
}

/// Every record with its raw text, header included.
pub(crate) fn read_all(file: &str, bytes: &[u8]) -> Result<Vec<(RawRecord, String)>, ReadError> {
    RawRecords::new(file, bytes).collect()
}

/// The bytes the CSV reader has pulled from the file and not yet given back as
/// a record's raw text: about one record plus the reader's look-ahead.
#[derive(Default)]
struct Window {
    bytes: Vec<u8>,
    /// File offset of `bytes[0]`.
    base: usize,
}

/// A reader that keeps what passes through it in a [`Window`], so each
/// record's raw text and physical line can be recovered without the file
/// being in memory.
struct Tee<R> {
    inner: R,
    window: Rc<RefCell<Window>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.window.borrow_mut().bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Records as read, one at a time, with their 1-based physical line and raw
/// text (header included).
pub struct RawRecords<R: Read> {
    file: String,
    reader: csv::Reader<Tee<R>>,
    window: Rc<RefCell<Window>>,
    record: csv::ByteRecord,
    /// File offset up to which line breaks are counted into `line`.
    counted_to: usize,
    line: u64,
    failed: bool,
}

impl<R: Read> RawRecords<R> {
    pub fn new(file: &str, input: R) -> Self {
        let window = Rc::new(RefCell::new(Window::default()));
        let tee = Tee {
            inner: input,
            window: window.clone(),
        };
        Self {
            file: file.into(),
            reader: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(tee),
            window,
            record: csv::ByteRecord::new(),
            counted_to: 0,
            line: 1,
            failed: false,
        }
    }
}

impl<R: Read> Iterator for RawRecords<R> {
    type Item = Result<(RawRecord, String), ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let start = self.reader.position().clone();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(source) => {
                self.failed = true;
                return Some(Err(ReadError::Csv {
                    file: self.file.clone(),
                    line: start.line(),
                    source,
                }));
            }
        }
        let end = self.reader.position().byte() as usize;
        let mut window = self.window.borrow_mut();
        let base = window.base;
        let bytes = &window.bytes;
        // After a CRLF record the reader may still stand on its '\n'. The csv
        // crate's line count skips quoted line breaks; count physical lines.
        let mut begin = start.byte() as usize;
        while begin < end && matches!(bytes[begin - base], b'\r' | b'\n') {
            begin += 1;
        }
        self.line +=
            memchr::memchr_iter(b'\n', &bytes[self.counted_to - base..begin - base]).count() as u64;
        self.counted_to = begin;
        let raw = String::from_utf8_lossy(&bytes[begin - base..end - base])
            .trim_end_matches(['\r', '\n'])
            .to_string();
        // What is before this record is counted and given out: let it go.
        window.bytes.drain(..begin - base);
        window.base = begin;
        let fields = self
            .record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        Some(Ok((
            RawRecord {
                line: self.line,
                fields,
            },
            raw,
        )))
    }
}

/// Records of `width` fields after the header, split records repaired, one at
/// a time: memory holds a record and the one after it, whatever the file's
/// size.
pub struct Records<R: Read> {
    file: String,
    width: usize,
    raw: RawRecords<R>,
    /// A record read ahead to try to complete a short one, not yet judged.
    ahead: Option<(RawRecord, String)>,
    /// A record waiting behind its `changed` reject.
    queued: Option<RawRecord>,
}

impl<R: Read> Records<R> {
    /// Reads and checks the header; an empty file or another header is an error.
    pub fn new(file: &str, input: R, header: &[&str]) -> Result<Self, ReadError> {
        let mut raw = RawRecords::new(file, input);
        let (head, _) = raw
            .next()
            .ok_or_else(|| ReadError::Empty { file: file.into() })??;
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
        Ok(Self {
            file: file.into(),
            width: header.len(),
            raw,
            ahead: None,
            queued: None,
        })
    }

    fn next_raw(&mut self) -> Option<Result<(RawRecord, String), ReadError>> {
        self.ahead.take().map(Ok).or_else(|| self.raw.next())
    }
}

impl<R: Read> Iterator for Records<R> {
    type Item = Result<Item, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(record) = self.queued.take() {
            return Some(Ok(Item::Record(record)));
        }
        loop {
            let (rec, raw) = match self.next_raw()? {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            // A blank line reads as one empty field: nothing to keep or report.
            if rec.fields.len() == 1 && rec.fields[0].is_empty() {
                continue;
            }
            if rec.fields.len() == self.width {
                return Some(Ok(Item::Record(rec)));
            }
            if rec.fields.len() < self.width {
                match self.raw.next() {
                    Some(Err(e)) => return Some(Err(e)),
                    Some(Ok((next, next_raw)))
                        if rec.fields.len() + next.fields.len() - 1 == self.width =>
                    {
                        let mut fields = rec.fields;
                        let last = fields.pop().unwrap_or_default();
                        fields.push(format!("{last}\n{}", next.fields[0]));
                        fields.extend(next.fields[1..].iter().cloned());
                        self.queued = Some(RawRecord {
                            line: rec.line,
                            fields,
                        });
                        return Some(Ok(Item::Reject(Reject::changed(
                            &self.file,
                            rec.line,
                            "split_record_repaired",
                            format!("joined with the fragment on line {}", next.line),
                            format!("{raw}\n{next_raw}"),
                        ))));
                    }
                    Some(Ok(next)) => self.ahead = Some(next),
                    None => {}
                }
            }
            return Some(Ok(Item::Reject(Reject::dropped(
                &self.file,
                rec.line,
                "wrong_field_count",
                format!("{} fields, expected {}", rec.fields.len(), self.width),
                raw,
            ))));
        }
    }
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
