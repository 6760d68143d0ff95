//! The movie catalog every generated file is written from: links order,
//! MovieLens and TMDB ids, and the attributes metadata and ratings draw on.

use std::io::Write;

use chrono::NaiveDate;
use rand::Rng;

use super::rng::{GenRng, chance, normal, pick, stream};
use super::words::{GENRES, TITLE_WORDS};
use super::{full, quirks, scaled};

#[derive(Debug, Clone)]
pub struct GenMovie {
    pub movielens_id: i64,
    pub imdb: u32,
    /// `None`: links.csv has an empty tmdbId for this movie.
    pub tmdb_id: Option<i64>,
    /// True when this link repeats an earlier link's tmdbId.
    pub repeated_tmdb: bool,
    /// Whether movies_metadata.csv has a record for this movie.
    pub in_metadata: bool,
    pub title: String,
    pub genres: Vec<(i64, &'static str)>,
    pub release: Option<NaiveDate>,
    /// 0 = unknown, as in the real file.
    pub budget: u64,
    /// 0 = unknown, as in the real file.
    pub revenue: u64,
    pub runtime: f64,
    /// How much the movie is rated (relative weight).
    pub weight: f64,
    /// Mean rating the movie tends to get.
    pub quality: f64,
}

pub struct Catalog {
    pub movies: Vec<GenMovie>,
    /// MovieLens ids that ratings use but links.csv lacks.
    pub unlisted_ids: Vec<i64>,
}

/// Box-office seasonality: summer and holiday releases earn more.
const MONTH_REVENUE_FACTOR: [f64; 12] = [
    0.7, 0.75, 0.85, 0.9, 1.3, 1.45, 1.4, 1.0, 0.7, 0.8, 1.2, 1.35,
];

impl Catalog {
    pub fn build(scale: f64, seed: u64) -> Self {
        let mut rng = stream(seed, "catalog", 0);
        let n_links = scaled(full::LINKS, scale, 40) as usize;
        let n_empty = scaled(quirks::EMPTY_TMDB_IDS, scale, 1) as usize;
        let n_repeat = scaled(quirks::REPEATED_TMDB_IDS, scale, 1) as usize;
        let records = scaled(full::METADATA_RECORDS, scale, 30);
        let n_meta = (records
            - scaled(quirks::DUPLICATE_EXTRA_ROWS, scale, 2)
            - scaled(quirks::SPLIT_RECORDS, scale, 1)) as usize;

        let mut movies = Vec::with_capacity(n_links);
        let mut ml_id = 0i64;
        let mut tmdb = 1i64;
        for i in 0..n_links {
            // MovieLens ids are dense at first and sparser later, as in the real file.
            ml_id += 1 + if i > n_links / 5 {
                rng.random_range(0..6)
            } else {
                0
            };
            tmdb += 1 + rng.random_range(0..9);
            movies.push(new_movie(&mut rng, ml_id, tmdb));
        }
        // Empty and repeated tmdbIds, spread over the file.
        for _ in 0..n_empty {
            let i = rng.random_range(0..n_links);
            movies[i].tmdb_id = None;
        }
        let mut repeated = 0;
        while repeated < n_repeat {
            let i = rng.random_range(1..n_links);
            let j = rng.random_range(0..i);
            if movies[i].tmdb_id.is_some()
                && !movies[i].repeated_tmdb
                && movies[j].tmdb_id.is_some()
                && !movies[j].repeated_tmdb
            {
                movies[i].tmdb_id = movies[j].tmdb_id;
                movies[i].repeated_tmdb = true;
                repeated += 1;
            }
        }
        // Metadata covers most linked movies, in links order; a few links have none.
        let candidates: Vec<usize> = (0..n_links)
            .filter(|&i| movies[i].tmdb_id.is_some() && !movies[i].repeated_tmdb)
            .collect();
        let mut missing = candidates.len().saturating_sub(n_meta);
        for &i in &candidates {
            movies[i].in_metadata = true;
        }
        while missing > 0 {
            let i = *pick(&mut rng, &candidates);
            if movies[i].in_metadata {
                movies[i].in_metadata = false;
                missing -= 1;
            }
        }
        for _ in 0..scaled(quirks::EMPTY_RELEASE_DATES, scale, 1) {
            let i = rng.random_range(0..n_links);
            movies[i].release = None;
        }
        // Ratings reference a few MovieLens ids that links.csv does not have.
        let n_unlisted = ((n_links as f64) * 0.002).ceil() as i64;
        let unlisted_ids = (1..=n_unlisted).map(|k| ml_id + 1000 + k * 7).collect();
        Self {
            movies,
            unlisted_ids,
        }
    }

    /// links.csv: `movieId,imdbId,tmdbId`, CRLF, imdbId with leading zeros.
    pub fn write_links(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(b"movieId,imdbId,tmdbId\r\n")?;
        for m in &self.movies {
            match m.tmdb_id {
                Some(t) => write!(w, "{},{:07},{}\r\n", m.movielens_id, m.imdb, t)?,
                None => write!(w, "{},{:07},\r\n", m.movielens_id, m.imdb)?,
            }
        }
        Ok(())
    }
}

fn new_movie(rng: &mut GenRng, movielens_id: i64, tmdb_id: i64) -> GenMovie {
    let words = 1 + rng.random_range(0..3);
    let title = (0..words)
        .map(|_| *pick(rng, TITLE_WORDS))
        .collect::<Vec<_>>()
        .join(" ");
    let title = if chance(rng, 0.05) {
        format!("{title}, Part {}", rng.random_range(2..5))
    } else {
        title
    };
    let genres = if chance(rng, quirks::SHARE_EMPTY_GENRES) {
        Vec::new()
    } else {
        let total: f64 = GENRES.iter().map(|g| g.2).sum();
        let n = 1 + rng.random_range(0..3);
        let mut out: Vec<(i64, &'static str)> = Vec::new();
        for _ in 0..n {
            let mut x = rng.random::<f64>() * total;
            for &(id, name, w) in GENRES {
                x -= w;
                if x <= 0.0 {
                    if !out.iter().any(|g| g.0 == id) {
                        out.push((id, name));
                    }
                    break;
                }
            }
        }
        out
    };
    // Most films are recent; the tail reaches back to 1874.
    let year = (2017.0 - (-rng.random::<f64>().max(1e-12).ln() * 18.0))
        .round()
        .clamp(1874.0, 2020.0) as i32;
    let month = rng.random_range(1..=12);
    let day = rng.random_range(1..=28);
    let release = NaiveDate::from_ymd_opt(year, month, day);
    let weight = (1.7 * normal(rng)).exp();
    let known_money = weight.ln() / 1.7 + normal(rng) * 0.8; // popular films report money more often
    let revenue = if known_money > 0.99 {
        let base = (16.0 + 1.6 * normal(rng)).exp() * MONTH_REVENUE_FACTOR[(month - 1) as usize];
        // Tiny positive values exist in the real file (e.g. revenue 1 or 12).
        if chance(rng, 0.01) {
            rng.random_range(1..100)
        } else {
            base as u64 + 1
        }
    } else {
        0
    };
    let budget = if known_money > 0.84 || (revenue > 0 && chance(rng, 0.6)) {
        if chance(rng, 0.01) {
            rng.random_range(1..10)
        } else {
            ((15.5 + normal(rng)).exp()) as u64 + 1
        }
    } else {
        0
    };
    GenMovie {
        movielens_id,
        imdb: rng.random_range(1..9_999_999),
        tmdb_id: Some(tmdb_id),
        repeated_tmdb: false,
        in_metadata: false,
        title,
        genres,
        release,
        budget,
        revenue,
        runtime: (95.0 + 25.0 * normal(rng)).round().max(1.0),
        weight,
        quality: (3.4 + 0.45 * normal(rng)).clamp(1.0, 4.7),
    }
}
