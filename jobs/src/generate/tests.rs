use super::*;
use crate::staging::{cpi, links, movies};

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    generate(a.path(), 0.002, 7).unwrap();
    generate(b.path(), 0.002, 7).unwrap();
    generate(c.path(), 0.002, 8).unwrap();
    for f in [
        "kaggle/ratings.csv",
        "kaggle/movies_metadata.csv",
        "kaggle/links.csv",
        "fred/CUSR0000SS62031.csv",
    ] {
        assert_eq!(read(a.path(), f), read(b.path(), f), "{f}");
    }
    assert_ne!(
        read(a.path(), "kaggle/ratings.csv"),
        read(c.path(), "kaggle/ratings.csv")
    );
}

#[test]
fn sizes_follow_the_scale() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate(dir.path(), 0.01, 1).unwrap();
    assert_eq!(s.ratings, 260_243);
    assert_eq!(s.users, 2_709);
    let ratings = read(dir.path(), "kaggle/ratings.csv");
    let lines = ratings
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(lines as u64, s.ratings + 1);
    let links = read(dir.path(), "kaggle/links.csv");
    assert_eq!(
        links
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        458 + 1
    );
}

#[test]
fn every_quirk_is_present_and_staging_survives_it() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 0.01, 3).unwrap();
    let k = dir.path().join("kaggle");

    // CRLF in links and ratings, LF in metadata.
    let links_bytes = read(&k, "links.csv");
    assert!(links_bytes.starts_with(b"movieId,imdbId,tmdbId\r\n"));
    assert!(read(&k, "ratings.csv").starts_with(b"userId,movieId,rating,timestamp\r\n"));
    let meta = read(&k, "movies_metadata.csv");
    assert!(!meta.contains(&b'\r'));

    // Empty and repeated tmdbIds.
    let (links, _) = links::stage(&links_bytes).unwrap();
    assert!(links.iter().any(|l| l.tmdb_id.is_none()));
    let mut tmdb: Vec<_> = links.iter().filter_map(|l| l.tmdb_id).collect();
    let n = tmdb.len();
    tmdb.sort();
    tmdb.dedup();
    assert!(tmdb.len() < n, "no repeated tmdbId");
    assert!(links.iter().all(|l| l.imdb_id.len() == 7));

    // Split records are repaired; duplicates identical and conflicting.
    let (movies, rejects) = movies::stage(&meta).unwrap();
    let count = |reason: &str, detail: &str| {
        rejects
            .iter()
            .filter(|r| r.reason == reason && r.detail.contains(detail))
            .count()
    };
    assert!(count("split_record_repaired", "") >= 1);
    assert!(count("duplicate_id", "identical") >= 1);
    assert!(count("duplicate_id", "conflicting") >= 1);
    assert_eq!(
        rejects
            .iter()
            .filter(|r| r.reason == "bad_id" || r.reason == "wrong_field_count")
            .count(),
        0
    );

    // Literals with apostrophes (double-quoted), None; empty genres; zero money; empty dates.
    let text = String::from_utf8(meta.clone()).unwrap();
    assert!(text.contains("\"Lion's Gate Films\"") || text.contains("\"\"Lion's Gate Films\"\""));
    assert!(text.contains("None"));
    assert!(movies.iter().any(|m| m.genres.is_empty()));
    let share = |f: &dyn Fn(&movies::Movie) -> bool| {
        movies.iter().filter(|m| f(m)).count() as f64 / movies.len() as f64
    };
    let no_budget = share(&|m| m.budget.is_none());
    let no_revenue = share(&|m| m.revenue.is_none());
    assert!((0.65..0.92).contains(&no_budget), "{no_budget}");
    assert!((0.70..0.95).contains(&no_revenue), "{no_revenue}");
    assert!(movies.iter().any(|m| m.release_date.is_none()));
    assert!(!text.is_ascii());
    assert!(text.contains("\"\""), "no escaped quotes");

    // Ratings reference movieIds missing from links; half stars present.
    let ratings = String::from_utf8(read(&k, "ratings.csv")).unwrap();
    let known: std::collections::HashSet<i64> = links.iter().map(|l| l.movielens_id).collect();
    let mut unknown = 0;
    let mut halves = 0;
    for line in ratings.lines().skip(1) {
        let f: Vec<&str> = line.trim_end().split(',').collect();
        if !known.contains(&f[1].parse().unwrap()) {
            unknown += 1;
        }
        if f[2].ends_with(".5") {
            halves += 1;
        }
        let r: f64 = f[2].parse().unwrap();
        assert!((0.5..=5.0).contains(&r));
    }
    assert!(unknown > 0 && halves > 0);

    // CPI with a missing month.
    let (series, _) = cpi::stage("cpi.csv", &read(dir.path(), "fred/CUSR0000SS62031.csv")).unwrap();
    assert_eq!(series.months[0].value, Some(102.7));
    assert_eq!(
        series.months.iter().filter(|m| m.value.is_none()).count(),
        1
    );
}
