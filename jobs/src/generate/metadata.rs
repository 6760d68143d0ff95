//! movies_metadata.csv: 24 columns, LF line ends, Python-literal nested columns,
//! duplicated ids (identical and conflicting) and split records.

use std::collections::HashSet;
use std::io::Write;

use rand::Rng;

use super::catalog::{Catalog, GenMovie};
use super::rng::{GenRng, chance, pick, stream};
use super::words::{COMPANY_NAMES, LANGUAGES, OVERVIEW_WORDS};
use super::{quirks, scaled};
use crate::staging::movies::HEADER;
use crate::staging::pyliteral::repr_str;

/// A CSV field, quoted only when it must be (pandas' QUOTE_MINIMAL).
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn overview(rng: &mut GenRng, plain: bool) -> String {
    let n = 8 + rng.random_range(0..25);
    let mut words: Vec<String> = (0..n)
        .map(|_| pick(rng, OVERVIEW_WORDS).to_string())
        .collect();
    if !plain {
        if chance(rng, 0.5) {
            words[2].push(',');
        }
        if chance(rng, 0.1) {
            words[4] = format!("\"{}\"", words[4]);
        }
        if chance(rng, 0.02) {
            words[6].push_str("\n\n");
        }
    }
    let mut text = words.join(" ");
    text.push('.');
    text
}

fn genres_literal(m: &GenMovie) -> String {
    let items: Vec<String> = m
        .genres
        .iter()
        .map(|(id, name)| format!("{{'id': {id}, 'name': {}}}", repr_str(name)))
        .collect();
    format!("[{}]", items.join(", "))
}

/// The 24 fields of one record, as strings before CSV quoting.
fn fields(m: &GenMovie, rng: &mut GenRng) -> Vec<String> {
    let tmdb = m.tmdb_id.expect("metadata only for linked movies");
    let (lang, lang_name) = *pick(rng, LANGUAGES);
    let collection = if chance(rng, 0.1) {
        format!(
            "{{'id': {}, 'name': {}, 'poster_path': {}, 'backdrop_path': None}}",
            tmdb + 100_000,
            repr_str(&format!("{} Collection", m.title)),
            if chance(rng, 0.5) {
                "None".to_string()
            } else {
                format!("'/c{tmdb}.jpg'")
            }
        )
    } else {
        String::new()
    };
    let companies = if chance(rng, 0.25) {
        "[]".to_string()
    } else {
        format!(
            "[{{'name': {}, 'id': {}}}]",
            repr_str(pick::<&str>(rng, COMPANY_NAMES)),
            rng.random_range(1..100_000)
        )
    };
    let money = |v: u64, rng: &mut GenRng| {
        if v > 0 && chance(rng, 0.01) {
            format!("{v}.0")
        } else {
            v.to_string()
        }
    };
    let budget = money(m.budget, rng);
    let revenue = money(m.revenue, rng);
    let vote_count = (m.weight * 40.0) as u64;
    vec![
        if chance(rng, 0.0002) { "True" } else { "False" }.to_string(),
        collection,
        budget,
        genres_literal(m),
        if chance(rng, 0.2) {
            format!("http://example.com/{tmdb}")
        } else {
            String::new()
        },
        tmdb.to_string(),
        format!("tt{:07}", m.imdb),
        lang.to_string(),
        m.title.clone(),
        overview(rng, false),
        format!("{:.6}", m.weight * 1.3),
        format!("/p{tmdb}.jpg"),
        companies,
        "[{'iso_3166_1': 'US', 'name': 'United States of America'}]".to_string(),
        m.release
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        revenue,
        format!("{:.1}", m.runtime),
        format!(
            "[{{'iso_639_1': '{lang}', 'name': {}}}]",
            repr_str(lang_name)
        ),
        "Released".to_string(),
        if chance(rng, 0.3) {
            format!("Some say it's {}.", m.title)
        } else {
            String::new()
        },
        m.title.clone(),
        "False".to_string(),
        format!("{:.1}", (m.quality * 2.0).min(10.0)),
        vote_count.to_string(),
    ]
}

fn write_record(w: &mut impl Write, fields: &[String]) -> std::io::Result<()> {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    w.write_all(line.join(",").as_bytes())?;
    w.write_all(b"\n")
}

pub fn write(catalog: &Catalog, scale: f64, seed: u64, w: &mut impl Write) -> std::io::Result<()> {
    let mut rng = stream(seed, "metadata", 0);
    let listed: Vec<usize> = (0..catalog.movies.len())
        .filter(|&i| catalog.movies[i].in_metadata)
        .collect();
    // The same counts the catalog reserved records for.
    let n_split = scaled(quirks::SPLIT_RECORDS, scale, 1);
    let n_dups = scaled(quirks::DUPLICATE_EXTRA_ROWS, scale, 2);
    // Which records are split or duplicated (identical on even picks, conflicting on odd).
    let mut split: HashSet<usize> = HashSet::new();
    while (split.len() as u64) < n_split.min(listed.len() as u64) {
        split.insert(*pick(&mut rng, &listed));
    }
    let mut dup_of: Vec<usize> = Vec::new();
    while (dup_of.len() as u64) < n_dups {
        let i = *pick(&mut rng, &listed);
        if !split.contains(&i) {
            dup_of.push(i);
        }
    }

    w.write_all(HEADER.join(",").as_bytes())?;
    w.write_all(b"\n")?;
    for &i in &listed {
        let m = &catalog.movies[i];
        let mut f = fields(m, &mut rng);
        if split.contains(&i) {
            // An unquoted line break inside overview: the stub ends there and the
            // rest of the record becomes a 15-field line of its own.
            f[9] = overview(&mut rng, true);
            let stub: Vec<String> = f[..9].iter().map(|x| csv_field(x)).collect();
            let words: Vec<&str> = f[9].split(' ').collect();
            let half = words.len() / 2;
            let rest: Vec<String> = f[10..].iter().map(|x| csv_field(x)).collect();
            writeln!(w, "{},{}", stub.join(","), words[..half].join(" "))?;
            writeln!(w, "{},{}", words[half..].join(" "), rest.join(","))?;
            continue;
        }
        write_record(w, &f)?;
        for (k, _) in dup_of.iter().enumerate().filter(|(_, d)| **d == i) {
            if k % 2 == 0 {
                write_record(w, &f)?;
            } else {
                let mut conflicting = f.clone();
                conflicting[10] = format!("{:.6}", m.weight * 0.7);
                conflicting[23] = (m.weight as u64 + 3).to_string();
                write_record(w, &conflicting)?;
            }
        }
    }
    Ok(())
}
