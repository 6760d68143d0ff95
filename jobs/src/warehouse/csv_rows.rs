//! Arrow record batches as the CSV that Postgres' `COPY … FROM STDIN (FORMAT csv)`
//! reads.
//!
//! Written here rather than with arrow's CSV writer because COPY tells NULL from
//! the empty string by quoting: an unquoted empty field is NULL, `""` is an empty
//! string. So every text value is quoted and every NULL is left empty.

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use std::fmt::Write as _;

fn is_text(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// Appends every row of `batch` to `out`, one CSV line each.
pub fn append_rows(batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), ArrowError> {
    let options = FormatOptions::default().with_null("");
    let columns: Vec<(ArrayFormatter, bool, &dyn Array)> = batch
        .columns()
        .iter()
        .map(|c| {
            Ok((
                ArrayFormatter::try_new(c.as_ref(), &options)?,
                is_text(c.data_type()),
                c.as_ref(),
            ))
        })
        .collect::<Result<_, ArrowError>>()?;
    let mut value = String::new();
    for row in 0..batch.num_rows() {
        for (i, (formatter, text, array)) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if array.is_null(row) {
                continue;
            }
            value.clear();
            write!(value, "{}", formatter.value(row))
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            if *text {
                out.push(b'"');
                for b in value.bytes() {
                    if b == b'"' {
                        out.push(b'"');
                    }
                    out.push(b);
                }
                out.push(b'"');
            } else {
                out.extend_from_slice(value.as_bytes());
            }
        }
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use std::sync::Arc;

    #[test]
    fn nulls_are_empty_text_is_quoted_and_values_round_trip() {
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![Some(1), None])) as _),
            (
                "title",
                Arc::new(StringArray::from(vec![
                    Some("Say \"hi\", Bob\nnow"),
                    Some(""),
                ])) as _,
            ),
            (
                "note",
                Arc::new(StringArray::from(vec![None::<&str>, Some("x")])) as _,
            ),
            (
                "rating",
                Arc::new(Float64Array::from(vec![3.5, 0.1 + 0.2])) as _,
            ),
            (
                "adult",
                Arc::new(BooleanArray::from(vec![true, false])) as _,
            ),
            ("day", Arc::new(Date32Array::from(vec![0, 17_000])) as _),
            (
                "at",
                Arc::new(TimestampMicrosecondArray::from(vec![
                    789_652_009_000_000,
                    0,
                ])) as _,
            ),
        ])
        .unwrap();
        let mut out = Vec::new();
        append_rows(&batch, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "1,\"Say \"\"hi\"\", Bob\nnow\",,3.5,true,1970-01-01,1995-01-09T11:46:49\n\
             ,\"\",\"x\",0.30000000000000004,false,2016-07-18,1970-01-01T00:00:00\n"
        );
    }
}
