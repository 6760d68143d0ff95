//! `userId,movieId,rating,timestamp` lines into Arrow columns, in one pass
//! over the bytes.
//!
//! A value that is empty or not a number becomes null rather than an error,
//! so that rating_mapping counts its row as an invalid rating instead of the
//! whole run failing on one bad line. A line with more than four fields is
//! invalid as a whole (all four values null): its values cannot be trusted
//! to be in the right columns.

use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::SchemaRef;

/// The header every ratings file starts with.
pub const HEADER: &str = "userId,movieId,rating,timestamp";

/// Columns being filled, one value per line parsed.
pub struct RatingsColumns {
    user_id: Column<i64>,
    movielens_id: Column<i64>,
    rating: Column<f64>,
    rated_epoch: Column<i64>,
}

struct Column<T> {
    values: Vec<T>,
    nulls: NullBufferBuilder,
}

impl<T: Default> Column<T> {
    fn with_capacity(rows: usize) -> Self {
        Self {
            values: Vec::with_capacity(rows),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    #[inline(always)]
    fn push(&mut self, value: Option<T>) {
        match value {
            Some(v) => {
                self.values.push(v);
                self.nulls.append_non_null();
            }
            None => {
                self.values.push(T::default());
                self.nulls.append_null();
            }
        }
    }
}

impl RatingsColumns {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            user_id: Column::with_capacity(rows),
            movielens_id: Column::with_capacity(rows),
            rating: Column::with_capacity(rows),
            rated_epoch: Column::with_capacity(rows),
        }
    }

    /// Rows parsed so far.
    pub fn len(&self) -> usize {
        self.user_id.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses whole lines from the start of `bytes` until `max_rows` rows are
    /// held; returns how many bytes it consumed. A last line without a line
    /// end is parsed only when `at_end` says no more bytes follow it. Blank
    /// lines are skipped.
    pub fn parse_lines(&mut self, bytes: &[u8], at_end: bool, max_rows: usize) -> usize {
        let mut pos = 0;
        while pos < bytes.len() && self.len() < max_rows {
            if let Some(line) = plain_line(&bytes[pos..]) {
                self.user_id.push(Some(line.user_id));
                self.movielens_id.push(Some(line.movielens_id));
                self.rating.push(Some(line.rating));
                self.rated_epoch.push(Some(line.rated_epoch));
                pos += line.len;
                continue;
            }
            let (line, next) = match memchr::memchr(b'\n', &bytes[pos..]) {
                Some(n) => (&bytes[pos..pos + n], pos + n + 1),
                None if at_end => (&bytes[pos..], bytes.len()),
                None => break,
            };
            self.push_line(line);
            pos = next;
        }
        pos
    }

    fn push_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return;
        }
        let mut pos = 0;
        let user = int_field(line, &mut pos);
        let movie = int_field(line, &mut pos);
        let rating = rating_field(line, &mut pos);
        let epoch = int_field(line, &mut pos);
        if pos <= line.len() {
            // A fifth field follows.
            self.push_nulls();
            return;
        }
        self.user_id.push(user);
        self.movielens_id.push(movie);
        self.rating.push(rating);
        self.rated_epoch.push(epoch);
    }

    fn push_nulls(&mut self) {
        self.user_id.push(None);
        self.movielens_id.push(None);
        self.rating.push(None);
        self.rated_epoch.push(None);
    }

    /// The rows parsed so far as a batch of `schema` (the four columns in
    /// file order); the columns start empty again.
    pub fn finish(&mut self, schema: SchemaRef) -> arrow::error::Result<RecordBatch> {
        let rows = self.len();
        let taken = std::mem::replace(self, Self::with_capacity(rows));
        let ints = |mut c: Column<i64>| -> ArrayRef {
            Arc::new(Int64Array::new(
                ScalarBuffer::from(c.values),
                c.nulls.finish(),
            ))
        };
        let mut rating = taken.rating;
        let columns = vec![
            ints(taken.user_id),
            ints(taken.movielens_id),
            Arc::new(Float64Array::new(
                ScalarBuffer::from(rating.values),
                rating.nulls.finish(),
            )) as ArrayRef,
            ints(taken.rated_epoch),
        ];
        RecordBatch::try_new(schema, columns)
    }
}

/// A line of the shape MovieLens writes every line in: `digits,digits,d.d,digits`
/// and a line end (LF or CRLF).
struct PlainLine {
    user_id: i64,
    movielens_id: i64,
    rating: f64,
    rated_epoch: i64,
    /// Bytes, with the line end.
    len: usize,
}

/// The line at the start of `bytes` when it has the plain shape, read in one
/// pass over its bytes; `None` for any other line (signs, blanks, bad values,
/// extra fields, no line end yet), which [`RatingsColumns::push_line`] then
/// reads. Why: nearly every line is plain, and finding the line end first
/// and then each field read every byte twice — the parse was a quarter of a
/// transform's CPU time. Plain lines give the same values either way (the
/// tests parse both ways).
#[inline(always)]
fn plain_line(bytes: &[u8]) -> Option<PlainLine> {
    let mut at = 0;
    let user_id = plain_int(bytes, &mut at)?;
    expect(bytes, &mut at, b',')?;
    let movielens_id = plain_int(bytes, &mut at)?;
    expect(bytes, &mut at, b',')?;
    let rating = match bytes.get(at..at + 4)? {
        [whole @ b'0'..=b'9', b'.', tenth @ b'0'..=b'9', b','] => {
            TENTHS[usize::from((whole - b'0') * 10 + (tenth - b'0'))]
        }
        _ => return None,
    };
    at += 4;
    let rated_epoch = plain_int(bytes, &mut at)?;
    if bytes.get(at) == Some(&b'\r') {
        at += 1;
    }
    expect(bytes, &mut at, b'\n')?;
    Some(PlainLine {
        user_id,
        movielens_id,
        rating,
        rated_epoch,
        len: at,
    })
}

/// 1 to 18 decimal digits at `at` (so the value surely fits an i64).
#[inline(always)]
fn plain_int(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let start = *at;
    let mut value: i64 = 0;
    while let Some(&b) = bytes.get(*at) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        value = value * 10 + i64::from(d);
        *at += 1;
        if *at - start > 18 {
            return None;
        }
    }
    (*at > start).then_some(value)
}

#[inline(always)]
fn expect(bytes: &[u8], at: &mut usize, byte: u8) -> Option<()> {
    (bytes.get(*at) == Some(&byte)).then(|| *at += 1)
}

/// The field of `line` starting at `pos`, which moves past the comma that
/// ends it (or past the end of the line: `pos > line.len()` after the last).
#[inline(always)]
fn field<'a>(line: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let rest = line.get(*pos..).unwrap_or_default();
    let len = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
    *pos += len + 1;
    &rest[..len]
}

/// A decimal integer with an optional sign; `None` if empty, not a number, or
/// too long to be sure it fits in an i64. Digits are read while looking for
/// the comma, in one pass.
#[inline(always)]
fn int_field(line: &[u8], pos: &mut usize) -> Option<i64> {
    let rest = line.get(*pos..).unwrap_or_default();
    let negative = rest.first() == Some(&b'-');
    let skip = usize::from(negative || rest.first() == Some(&b'+'));
    let mut value: i64 = 0;
    let mut all_digits = true;
    let mut len = skip;
    while len < rest.len() {
        let b = rest[len];
        if b == b',' {
            break;
        }
        let d = b.wrapping_sub(b'0');
        all_digits &= d <= 9;
        value = value.wrapping_mul(10).wrapping_add(i64::from(d));
        len += 1;
    }
    *pos += len + 1;
    let digits = len - skip;
    (all_digits && digits > 0 && digits <= 18).then_some(if negative { -value } else { value })
}

/// `TENTHS[n]` = n / 10, correctly rounded, for ratings written `d.d`.
const TENTHS: [f64; 100] = {
    let mut t = [0.0; 100];
    let mut n = 0;
    while n < 100 {
        t[n] = n as f64 / 10.0;
        n += 1;
    }
    t
};

/// A rating. MovieLens writes every one as `d.d` (`3.5`, `4.0`): that shape
/// is read directly; anything else goes through the standard float parser.
#[inline(always)]
fn rating_field(line: &[u8], pos: &mut usize) -> Option<f64> {
    let field = field(line, pos);
    if let [whole @ b'0'..=b'9', b'.', tenth @ b'0'..=b'9'] = field {
        return Some(TENTHS[usize::from((whole - b'0') * 10 + (tenth - b'0'))]);
    }
    let text = std::str::from_utf8(field).ok()?;
    // "inf" and "NaN" parse as floats but are not ratings.
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int64Type};

    fn parse(text: &str) -> RecordBatch {
        let mut columns = RatingsColumns::with_capacity(4);
        let used = columns.parse_lines(text.as_bytes(), true, usize::MAX);
        assert_eq!(used, text.len(), "at the end, every byte is consumed");
        columns
            .finish(Arc::new(super::super::ratings_schema()))
            .unwrap()
    }

    fn ints(batch: &RecordBatch, col: usize) -> Vec<Option<i64>> {
        batch
            .column(col)
            .as_primitive::<Int64Type>()
            .iter()
            .collect()
    }

    #[test]
    fn reads_lf_and_crlf_lines_and_skips_blank_ones() {
        let batch = parse("1,601,3.0,789652009\r\n\r\n2,1128,1.0,1020640503\n\n7,8,4.5,9");
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(ints(&batch, 0), [Some(1), Some(2), Some(7)]);
        assert_eq!(ints(&batch, 1), [Some(601), Some(1128), Some(8)]);
        let ratings: Vec<_> = batch
            .column(2)
            .as_primitive::<Float64Type>()
            .iter()
            .collect();
        assert_eq!(ratings, [Some(3.0), Some(1.0), Some(4.5)]);
        assert_eq!(
            ints(&batch, 3),
            [Some(789652009), Some(1020640503), Some(9)]
        );
    }

    #[test]
    fn bad_values_become_nulls_and_other_rating_shapes_parse() {
        let batch = parse("x,2,5,3\n1,,0.25,-4\n1,2,inf,99999999999999999999\n1,2,3\n");
        assert_eq!(ints(&batch, 0), [None, Some(1), Some(1), Some(1)]);
        assert_eq!(ints(&batch, 1), [Some(2), None, Some(2), Some(2)]);
        let ratings: Vec<_> = batch
            .column(2)
            .as_primitive::<Float64Type>()
            .iter()
            .collect();
        assert_eq!(ratings, [Some(5.0), Some(0.25), None, Some(3.0)]);
        assert_eq!(ints(&batch, 3), [Some(3), Some(-4), None, None]);
    }

    /// Every line through the general reader only, never the plain fast path.
    fn parse_general(text: &str) -> RecordBatch {
        let mut columns = RatingsColumns::with_capacity(4);
        for line in text.split_inclusive('\n') {
            columns.push_line(line.strip_suffix('\n').unwrap_or(line).as_bytes());
        }
        columns
            .finish(Arc::new(super::super::ratings_schema()))
            .unwrap()
    }

    #[test]
    fn the_plain_fast_path_reads_what_the_general_reader_reads() {
        let lines = [
            "1,601,3.0,789652009\n",
            "270896,176273,0.5,1500000000\r\n",
            "007,0,9.9,0\n",
            "123456789012345678,1,5.0,123456789012345678\n",
            "1234567890123456789,1,5.0,1\n",
            "1,2,3.0,1234567890123456789\n",
            "+1,2,3.0,4\n",
            "1,-2,3.0,4\n",
            "1,2,3,4\n",
            "1,2,3.05,4\n",
            "1,2,,4\n",
            "1,2,3.0,\n",
            "1,2,3.0,4,\n",
            "1,2,3.0,4\r\r\n",
            "1 ,2,3.0,4\n",
            "1,2,3.0,4",
        ];
        let text: String = lines.concat();
        let (fast, general) = (parse(&text), parse_general(&text));
        assert_eq!(fast.num_rows(), lines.len());
        assert_eq!(fast, general);
        // The plain lines did take the fast path.
        assert!(plain_line(lines[0].as_bytes()).is_some());
        assert!(plain_line(lines[1].as_bytes()).is_some());
        assert!(plain_line(lines[4].as_bytes()).is_none());
    }

    #[test]
    fn a_line_with_extra_fields_is_null_throughout() {
        let batch = parse("1,2,3.0,4,5\n");
        assert_eq!(batch.num_rows(), 1);
        for col in 0..4 {
            assert_eq!(batch.column(col).null_count(), 1, "column {col}");
        }
    }

    #[test]
    fn stops_before_a_partial_line_and_at_the_row_limit() {
        let mut columns = RatingsColumns::with_capacity(4);
        let text = b"1,2,3.0,4\n5,6,7.0,8\n9,10,1";
        assert_eq!(columns.parse_lines(text, false, usize::MAX), 20);
        assert_eq!(columns.len(), 2);
        let mut limited = RatingsColumns::with_capacity(4);
        assert_eq!(limited.parse_lines(text, false, 1), 10);
        assert_eq!(limited.len(), 1);
    }
}
