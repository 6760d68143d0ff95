//! The answers of `movielens run` (SQL on Ballista) against an independent
//! computation of the same definitions in plain Rust iterators, on the real
//! sample and on generated data with every quirk. Equal to 1e-9 relative.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use chrono::Datelike;
use common::{assert_same, movielens, run_ok, shared_data};
use movielens::answers::{
    Answers, GenreEarning, GenreEarnings, GenrePopularity, HighestRated, MonthBoxOffice,
    QuarterBoxOffice, RatedMovie,
};
use movielens::staging::{cpi, links, movies};

const TOP_N: usize = 10;
const PERCENTILE: f64 = 0.9;

/// The four answers computed straight from the files.
fn reference(kaggle: &Path, ratings_file: &str, cpi_path: &Path) -> Answers {
    let (movies, _) =
        movies::stage(&std::fs::read(kaggle.join("movies_metadata.csv")).unwrap()).unwrap();
    let (links, _) = links::stage(&std::fs::read(kaggle.join("links.csv")).unwrap()).unwrap();
    let (series, _) = cpi::stage("cpi.csv", &std::fs::read(cpi_path).unwrap()).unwrap();
    let movie_by_id: HashMap<i64, &movies::Movie> = movies.iter().map(|m| (m.tmdb_id, m)).collect();
    let tmdb_of: HashMap<i64, Option<i64>> =
        links.iter().map(|l| (l.movielens_id, l.tmdb_id)).collect();
    let genres_of = |m: &movies::Movie| -> Vec<String> {
        let mut seen = Vec::new();
        for (_, g) in &m.genres {
            if !seen.contains(g) {
                seen.push(g.clone());
            }
        }
        seen
    };

    // Mapped ratings, streamed line by line (the scale-10 check reads 260M):
    // per movie (count, sum) for Q1, per genre (count, users, movies, sum) for Q2.
    let file = std::fs::File::open(kaggle.join(ratings_file)).unwrap();
    let mut per_movie: HashMap<i64, (u64, f64)> = HashMap::new();
    // Genres by index, so the 260M-rating pass neither clones nor compares names.
    let mut genre_names: Vec<String> = Vec::new();
    let genre_lists: HashMap<i64, Vec<usize>> = movies
        .iter()
        .map(|m| {
            let indexes = genres_of(m)
                .into_iter()
                .map(|g| match genre_names.iter().position(|n| *n == g) {
                    Some(i) => i,
                    None => {
                        genre_names.push(g);
                        genre_names.len() - 1
                    }
                })
                .collect();
            (m.tmdb_id, indexes)
        })
        .collect();
    let mut per_genre_at: Vec<(u64, HashSet<i64>, HashSet<i64>, f64)> =
        vec![Default::default(); genre_names.len()];
    let (mut n_mapped, mut sum_mapped) = (0u64, 0f64);
    for line in std::io::BufRead::lines(std::io::BufReader::new(file)).skip(1) {
        let line = line.unwrap();
        let f: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
        let (user, ml, r): (i64, i64, f64) = (
            f[0].parse().unwrap(),
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
        );
        let Some(Some(tmdb)) = tmdb_of.get(&ml) else {
            continue;
        };
        if !movie_by_id.contains_key(tmdb) {
            continue;
        }
        n_mapped += 1;
        sum_mapped += r;
        let e = per_movie.entry(*tmdb).or_default();
        e.0 += 1;
        e.1 += r;
        for &g in &genre_lists[tmdb] {
            let e = &mut per_genre_at[g];
            e.0 += 1;
            e.1.insert(user);
            e.2.insert(*tmdb);
            e.3 += r;
        }
    }
    let per_genre: BTreeMap<String, (u64, HashSet<i64>, HashSet<i64>, f64)> = genre_names
        .into_iter()
        .zip(per_genre_at)
        .filter(|(_, e)| e.0 > 0)
        .collect();

    // Q1.
    let c = sum_mapped / n_mapped as f64;
    let mut counts: Vec<f64> = per_movie.values().map(|v| v.0 as f64).collect();
    counts.sort_by(f64::total_cmp);
    let pos = PERCENTILE * (counts.len() - 1) as f64;
    let (lo, hi) = (counts[pos.floor() as usize], counts[pos.ceil() as usize]);
    let m = lo + (hi - lo) * (pos - pos.floor());
    let mut rated: Vec<RatedMovie> = per_movie
        .iter()
        .map(|(&tmdb, &(n, sum))| {
            let (nf, r) = (n as f64, sum / n as f64);
            let movie = movie_by_id[&tmdb];
            RatedMovie {
                rank: 0,
                tmdb_id: tmdb,
                title: movie.title.clone(),
                release_year: movie.release_date.map(|d| d.year()),
                n_ratings: n,
                mean_rating: r,
                weighted_rating: nf / (nf + m) * r + m / (nf + m) * c,
            }
        })
        .collect();
    rated.sort_by(|a, b| {
        b.weighted_rating
            .total_cmp(&a.weighted_rating)
            .then(b.n_ratings.cmp(&a.n_ratings))
            .then(a.tmdb_id.cmp(&b.tmdb_id))
    });
    rated.truncate(TOP_N);
    for (i, r) in rated.iter_mut().enumerate() {
        r.rank = i as u64 + 1;
    }

    // Q2.
    let mut genre_popularity: Vec<GenrePopularity> = per_genre
        .into_iter()
        .map(|(genre, (n, users, movies, sum))| GenrePopularity {
            genre,
            n_ratings: n,
            n_users: users.len() as u64,
            n_movies: movies.len() as u64,
            mean_rating: sum / n as f64,
            share_of_ratings: n as f64 / n_mapped as f64,
        })
        .collect();
    genre_popularity.sort_by(|a, b| b.n_ratings.cmp(&a.n_ratings).then(a.genre.cmp(&b.genre)));

    // Q3.
    let earners: Vec<(&movies::Movie, i64, chrono::NaiveDate)> = movies
        .iter()
        .filter_map(|m| Some((m, m.revenue?, m.release_date?)))
        .collect();
    let stats = |revenues: &mut Vec<i64>| -> (u64, i64, f64, f64) {
        revenues.sort();
        let n = revenues.len();
        let median = if n % 2 == 1 {
            revenues[n / 2] as f64
        } else {
            (revenues[n / 2 - 1] as f64 + revenues[n / 2] as f64) / 2.0
        };
        (
            n as u64,
            revenues.iter().sum(),
            revenues.iter().map(|&r| r as f64).sum::<f64>() / n as f64,
            median,
        )
    };
    let mut by_month: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    let mut by_quarter: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for &(_, rev, date) in &earners {
        by_month.entry(date.month()).or_default().push(rev);
        by_quarter
            .entry((date.month() - 1) / 3 + 1)
            .or_default()
            .push(rev);
    }
    let box_office_by_month = by_month
        .into_iter()
        .map(|(month, mut v)| {
            let (n_movies, total_revenue, mean_revenue, median_revenue) = stats(&mut v);
            MonthBoxOffice {
                month,
                n_movies,
                total_revenue,
                mean_revenue,
                median_revenue,
            }
        })
        .collect();
    let box_office_by_quarter = by_quarter
        .into_iter()
        .map(|(quarter, mut v)| {
            let (n_movies, total_revenue, mean_revenue, median_revenue) = stats(&mut v);
            QuarterBoxOffice {
                quarter,
                n_movies,
                total_revenue,
                mean_revenue,
                median_revenue,
            }
        })
        .collect();

    // Q4.
    let cpi_of: HashMap<chrono::NaiveDate, Option<f64>> =
        series.months.iter().map(|m| (m.month, m.value)).collect();
    let base = series
        .months
        .iter()
        .rev()
        .find(|m| m.value.is_some())
        .unwrap();
    let first = series.months[0].month;
    let mut before = 0;
    let mut earnings: BTreeMap<String, (u64, i64, f64)> = BTreeMap::new();
    for &(movie, rev, date) in &earners {
        let month = date.with_day(1).unwrap();
        if month < first {
            before += 1;
            continue;
        }
        let Some(Some(cpi)) = cpi_of.get(&month) else {
            continue;
        };
        let real = rev as f64 * base.value.unwrap() / cpi;
        for g in genres_of(movie) {
            let e = earnings.entry(g).or_default();
            e.0 += 1;
            e.1 += rev;
            e.2 += real;
        }
    }
    let mut genres: Vec<GenreEarning> = earnings
        .into_iter()
        .map(
            |(genre, (n_movies, revenue_nominal, revenue_real))| GenreEarning {
                genre,
                n_movies,
                revenue_nominal,
                revenue_real,
            },
        )
        .collect();
    genres.sort_by(|a, b| {
        b.revenue_real
            .total_cmp(&a.revenue_real)
            .then(a.genre.cmp(&b.genre))
    });

    Answers {
        highest_rated: HighestRated {
            global_mean_rating: c,
            min_ratings: m,
            rated_ratings: n_mapped,
            movies: rated,
        },
        genre_popularity,
        box_office_by_month,
        box_office_by_quarter,
        genre_earnings_real: GenreEarnings {
            cpi_base_month: base.month.format("%Y-%m").to_string(),
            movies_before_cpi_window: before,
            genres,
        },
    }
}

/// `movielens run` with the ratings landed in ~500 kB parts and fact_rating
/// written by 3 concurrent shard jobs, so the sharded path is what is checked.
fn run_json(lake: &Path, input: &Path, ratings: &str, cpi: &Path) -> Answers {
    let out = run_ok(
        movielens()
            .env("MOVIELENS_ENGINE__RATINGS_PART_BYTES", "500000")
            .env("MOVIELENS_ENGINE__FACT_WRITE_SHARDS", "3")
            .args([
                "--lake",
                lake.to_str().unwrap(),
                "run",
                "--format",
                "json",
                "--ratings",
                ratings,
            ])
            .arg("--input")
            .arg(input)
            .arg("--cpi")
            .arg(cpi),
    );
    serde_json::from_slice(&out.stdout).expect("answers JSON on stdout")
}

#[test]
fn real_sample_answers_equal_the_reference() {
    let Some(data) = shared_data() else { return };
    let kaggle = data.join("kaggle-sample");
    let cpi = data.join("fred/CUSR0000SS62031.csv");
    let lake = tempfile::tempdir().unwrap();
    let got = run_json(lake.path(), &kaggle, "ratings_small.csv", &cpi);
    let want = reference(&kaggle, "ratings_small.csv", &cpi);
    // The sample's README: 73,830 of the 100,004 ratings reach a movie.
    assert_eq!(want.highest_rated.rated_ratings, 73_830);
    assert_same(&got, &want);
    assert_eq!(
        got.highest_rated.movies[0].title,
        "The Shawshank Redemption"
    );
}

#[test]
fn real_sample_with_quoted_cpi_header_equals_the_reference() {
    let Some(data) = shared_data() else { return };
    let kaggle = data.join("kaggle-sample");
    let cpi = data.join("fred/CUSR0000SS62031_quoted_header.csv");
    let lake = tempfile::tempdir().unwrap();
    let got = run_json(lake.path(), &kaggle, "ratings_small.csv", &cpi);
    assert_same(&got, &reference(&kaggle, "ratings_small.csv", &cpi));
    assert_eq!(got.genre_earnings_real.cpi_base_month, "2023-11");
}

#[test]
fn generated_data_with_every_quirk_equals_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(
        movielens()
            .args(["generate", "--scale", "0.004", "--seed", "11", "--out"])
            .arg(&data),
    );
    let kaggle = data.join("kaggle");
    let cpi = data.join("fred/CUSR0000SS62031.csv");
    let got = run_json(&dir.path().join("lake"), &kaggle, "ratings.csv", &cpi);
    let want = reference(&kaggle, "ratings.csv", &cpi);
    assert!(
        want.highest_rated.rated_ratings > 40_000,
        "{}",
        want.highest_rated.rated_ratings
    );
    assert_same(&got, &want);
}

/// The published answers of a lake against the reference, at any scale: run
/// by `bench/run.sh --reference` (scale 10 is 260M ratings, too big for CI).
/// MOVIELENS_REFERENCE_DATA is a `movielens generate --out` directory and
/// MOVIELENS_REFERENCE_LAKE a lake whose published run was made from it.
#[test]
#[ignore = "large data: run by bench/run.sh --reference"]
fn published_answers_equal_the_reference() {
    let var = |name: &str| {
        std::path::PathBuf::from(
            std::env::var_os(name).unwrap_or_else(|| panic!("set {name} (see the doc comment)")),
        )
    };
    let (data, lake) = (
        var("MOVIELENS_REFERENCE_DATA"),
        var("MOVIELENS_REFERENCE_LAKE"),
    );
    let out = run_ok(
        movielens()
            .arg("--lake")
            .arg(&lake)
            .args(["answers", "--format", "json"]),
    );
    let got: Answers = serde_json::from_slice(&out.stdout).expect("answers JSON on stdout");
    let started = std::time::Instant::now();
    let want = reference(
        &data.join("kaggle"),
        "ratings.csv",
        &data.join("fred/CUSR0000SS62031.csv"),
    );
    eprintln!(
        "reference: {} mapped ratings in {:.1} s",
        want.highest_rated.rated_ratings,
        started.elapsed().as_secs_f64()
    );
    assert_same(&got, &want);
}
