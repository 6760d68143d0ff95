//! The FRED CPI series CUSR0000SS62031 (admission to movies, theaters, concerts):
//! monthly from 1999-01 (102.7), one decimal to 2006-12 and three after, one
//! month missing (`.`), header `DATE` as in one of FRED's formats.

use std::io::Write;

use rand::Rng;

use super::rng::{normal, stream};

pub const SERIES_ID: &str = "CUSR0000SS62031";
const FIRST_YEAR: i32 = 1999;
const LAST: (i32, u32) = (2023, 11);

pub fn write(seed: u64, w: &mut impl Write) -> std::io::Result<()> {
    let mut rng = stream(seed, "cpi", 0);
    let months = ((LAST.0 - FIRST_YEAR) * 12 + LAST.1 as i32) as usize;
    // Missing value somewhere after the first two years.
    let missing = rng.random_range(24..months - 1);
    writeln!(w, "DATE,{SERIES_ID}")?;
    let mut value: f64 = 102.7;
    for i in 0..months {
        let (year, month) = (FIRST_YEAR + (i / 12) as i32, (i % 12) as u32 + 1);
        let shown = if year < 2007 {
            (value * 10.0).round() / 10.0
        } else {
            (value * 1000.0).round() / 1000.0
        };
        if i == missing {
            writeln!(w, "{year}-{month:02}-01,.")?;
        } else {
            writeln!(w, "{year}-{month:02}-01,{shown:.3}")?;
        }
        value *= 1.0 + 0.0025 + 0.003 * normal(&mut rng);
    }
    Ok(())
}
