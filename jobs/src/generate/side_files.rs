//! keywords.csv and credits.csv: Python-literal lists keyed by TMDB id, CRLF.
//! Not used by the answers; generated so the landing and staging paths see all
//! seven files in their real shapes.

use std::io::Write;

use rand::Rng;

use super::catalog::Catalog;
use super::metadata::csv_field;
use super::rng::{pick, stream};
use super::words::{KEYWORDS, PEOPLE};
use crate::staging::pyliteral::repr_str;

pub fn write_keywords(catalog: &Catalog, seed: u64, w: &mut impl Write) -> std::io::Result<()> {
    let mut rng = stream(seed, "keywords", 0);
    w.write_all(b"id,keywords\r\n")?;
    for m in catalog.movies.iter().filter(|m| m.in_metadata) {
        let n = rng.random_range(0..5);
        let items: Vec<String> = (0..n)
            .map(|_| {
                format!(
                    "{{'id': {}, 'name': {}}}",
                    rng.random_range(1..300_000),
                    repr_str(pick::<&str>(&mut rng, KEYWORDS))
                )
            })
            .collect();
        write!(
            w,
            "{},{}\r\n",
            m.tmdb_id.unwrap_or_default(),
            csv_field(&format!("[{}]", items.join(", ")))
        )?;
    }
    Ok(())
}

pub fn write_credits(catalog: &Catalog, seed: u64, w: &mut impl Write) -> std::io::Result<()> {
    let mut rng = stream(seed, "credits", 0);
    w.write_all(b"cast,crew,id\r\n")?;
    for m in catalog.movies.iter().filter(|m| m.in_metadata) {
        let cast: Vec<String> = (0..rng.random_range(0..4))
            .map(|order| {
                let name = pick(&mut rng, PEOPLE);
                format!(
                    "{{'cast_id': {order}, 'character': {}, 'credit_id': '{:024x}', 'gender': {}, 'id': {}, 'name': {}, 'order': {order}, 'profile_path': None}}",
                    repr_str(&format!("{name}'s double")),
                    rng.random::<u64>(),
                    rng.random_range(0..3),
                    rng.random_range(1..2_000_000),
                    repr_str(name)
                )
            })
            .collect();
        let crew = format!(
            "[{{'credit_id': '{:024x}', 'department': 'Directing', 'gender': 0, 'id': {}, 'job': 'Director', 'name': {}, 'profile_path': None}}]",
            rng.random::<u64>(),
            rng.random_range(1..2_000_000),
            repr_str(pick::<&str>(&mut rng, PEOPLE))
        );
        write!(
            w,
            "{},{},{}\r\n",
            csv_field(&format!("[{}]", cast.join(", "))),
            csv_field(&crew),
            m.tmdb_id.unwrap_or_default()
        )?;
    }
    Ok(())
}
