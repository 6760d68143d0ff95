//! ratings.csv: `userId,movieId,rating,timestamp`, CRLF, sorted by user then movie.
//!
//! Skew as in MovieLens: movie popularity is log-normal (few blockbusters, a long
//! tail) and so is user activity (a few heavy raters, many light ones). Ratings
//! are half stars, except before 2003-02-18 when MovieLens only had whole stars.
//! Users are generated in chunks on all cores, each chunk from its own random
//! stream, and written in order, so the file is the same for a seed whatever
//! the number of cores.

use std::io::Write;
use std::path::Path;

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;

use super::catalog::Catalog;
use super::rng::{chance, normal, stream};
use super::{GenerateError, create, full, io_err, quirks, scaled};

/// First and last rating of the real file: 1995-01-09 and 2017-08-04 (UTC).
pub const FIRST_TS: i64 = 789_652_009;
pub const LAST_TS: i64 = 1_501_829_870;
/// MovieLens switched to half stars on 2003-02-18.
const HALF_STARS_FROM: i64 = 1_045_526_400;
const USERS_PER_CHUNK: usize = 4096;

/// Writes the ratings file; returns (ratings, users).
pub fn write(
    catalog: &Catalog,
    scale: f64,
    seed: u64,
    path: &Path,
) -> Result<(u64, u64), GenerateError> {
    let n_users = scaled(full::USERS, scale, 10) as usize;
    // At tiny scales there are fewer movies than the mean user rates; a user
    // rates each movie at most once, so the total is capped there.
    let cap = max_per_user(catalog.movies.len());
    let n_ratings = scaled(full::RATINGS, scale, 100).min((n_users * cap) as u64);
    let counts = user_counts(n_users, n_ratings, cap, seed);
    let weights: Vec<f64> = catalog.movies.iter().map(|m| m.weight).collect();
    let popularity = WeightedIndex::new(&weights).expect("positive weights");

    let mut out = create(path)?;
    out.write_all(b"userId,movieId,rating,timestamp\r\n")
        .map_err(io_err(path))?;
    let chunks: Vec<(usize, &[u32])> = counts.chunks(USERS_PER_CHUNK).enumerate().collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    for group in chunks.chunks(threads) {
        let buffers: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .map(|&(chunk, counts)| {
                    let popularity = &popularity;
                    s.spawn(move || chunk_text(catalog, popularity, seed, chunk, counts, n_users))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("generator thread"))
                .collect()
        });
        for b in buffers {
            out.write_all(&b).map_err(io_err(path))?;
        }
    }
    out.flush().map_err(io_err(path))?;
    Ok((counts.iter().map(|&c| c as u64).sum(), n_users as u64))
}

/// The most movies one user rates: a quarter of the catalogue, so drawing that
/// many distinct movies stays cheap.
fn max_per_user(n_movies: usize) -> usize {
    (n_movies / 4).max(1)
}

/// Ratings per user: log-normal, at least 1, at most `cap`, summing exactly to
/// `total` (which must be at most `n_users * cap`).
fn user_counts(n_users: usize, total: u64, cap: usize, seed: u64) -> Vec<u32> {
    let mut rng = stream(seed, "user-counts", 0);
    let cap = cap as f64;
    let raw: Vec<f64> = (0..n_users)
        .map(|_| (1.25 * normal(&mut rng)).exp())
        .collect();
    let sum: f64 = raw.iter().sum();
    let mut counts: Vec<u32> = raw
        .iter()
        .map(|r| (r / sum * total as f64).clamp(1.0, cap) as u32)
        .collect();
    // Fix rounding so the total is exact.
    let mut have: u64 = counts.iter().map(|&c| c as u64).sum();
    let mut i = 0;
    while have != total {
        let c = &mut counts[i % n_users];
        if have < total && (*c as f64) < cap {
            *c += 1;
            have += 1;
        } else if have > total && *c > 1 {
            *c -= 1;
            have -= 1;
        }
        i += 1;
    }
    counts
}

fn chunk_text(
    catalog: &Catalog,
    popularity: &WeightedIndex<f64>,
    seed: u64,
    chunk: usize,
    counts: &[u32],
    n_users: usize,
) -> Vec<u8> {
    let mut rng = stream(seed, "ratings", chunk as u64);
    let n_movies = catalog.movies.len();
    let mut buf = Vec::with_capacity(counts.iter().map(|&c| c as usize).sum::<usize>() * 28);
    let mut chosen: Vec<usize> = Vec::new();
    let mut seen = vec![false; n_movies];
    let mut itoa = itoa::Buffer::new();
    for (k, &count) in counts.iter().enumerate() {
        let user = chunk * USERS_PER_CHUNK + k + 1;
        chosen.clear();
        let mut draws = 0usize;
        while chosen.len() < count as usize {
            draws += 1;
            // A heavy user who has taken most popular movies would need many
            // weighted draws to find a new one; switch to uniform draws then.
            let m = if draws < 50 * count as usize {
                popularity.sample(&mut rng)
            } else {
                rng.random_range(0..n_movies)
            };
            if !seen[m] {
                seen[m] = true;
                chosen.push(m);
            }
        }
        for &m in &chosen {
            seen[m] = false;
        }
        chosen.sort_unstable();
        let bias = 0.35 * normal(&mut rng);
        let start = rng.random_range(FIRST_TS..LAST_TS - 86_400);
        let span = (LAST_TS - start).min((rng.random::<f64>().powi(3) * 4.0e8) as i64 + 3600);
        for (j, &m) in chosen.iter().enumerate() {
            let movie = &catalog.movies[m];
            let movie_id = if chance(&mut rng, quirks::RATINGS_NOT_IN_LINKS) {
                catalog.unlisted_ids[rng.random_range(0..catalog.unlisted_ids.len())]
            } else {
                movie.movielens_id
            };
            let mut ts = start + rng.random_range(0..span);
            // Pin the real file's first and last moments.
            if user == 1 && j == 0 {
                ts = FIRST_TS;
            } else if user == n_users && j + 1 == chosen.len() {
                ts = LAST_TS;
            }
            let stars = movie.quality + bias + 0.9 * normal(&mut rng);
            let halves = if ts < HALF_STARS_FROM {
                (stars.round() * 2.0).clamp(2.0, 10.0)
            } else {
                (stars * 2.0).round().clamp(1.0, 10.0)
            } as u32;
            buf.extend_from_slice(itoa.format(user).as_bytes());
            buf.push(b',');
            buf.extend_from_slice(itoa.format(movie_id).as_bytes());
            buf.push(b',');
            buf.extend_from_slice(itoa.format(halves / 2).as_bytes());
            buf.extend_from_slice(if halves % 2 == 1 { b".5," } else { b".0," });
            buf.extend_from_slice(itoa.format(ts).as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
    }
    buf
}
