//! `links.csv`: MovieLens id → IMDb id, TMDB id. The only bridge from ratings to movies.

use std::collections::HashSet;

use super::records::{ReadError, read_records};
use super::{Reject, parse_int};

pub const FILE: &str = "links.csv";
pub const HEADER: [&str; 3] = ["movieId", "imdbId", "tmdbId"];

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub movielens_id: i64,
    /// 7 digits with leading zeros, as in the file (no `tt`).
    pub imdb_id: String,
    /// Empty in the file for some movies: those ratings cannot be mapped.
    pub tmdb_id: Option<i64>,
}

/// Parses links. A tmdbId may repeat (two MovieLens ids for one TMDB movie): both
/// links are kept so both ids' ratings reach that movie.
pub fn stage(bytes: &[u8]) -> Result<(Vec<Link>, Vec<Reject>), ReadError> {
    let (records, mut rejects) = read_records(FILE, bytes, &HEADER)?;
    let mut links = Vec::with_capacity(records.len());
    let mut seen = HashSet::new();
    for r in records {
        let raw = r.fields.join(",");
        let Some(movielens_id) = parse_int(&r.fields[0]) else {
            rejects.push(Reject::dropped(
                FILE,
                r.line,
                "bad_id",
                format!("movieId {:?} is not an integer", r.fields[0]),
                raw,
            ));
            continue;
        };
        if !seen.insert(movielens_id) {
            rejects.push(Reject::dropped(
                FILE,
                r.line,
                "duplicate_id",
                format!("movieId {movielens_id} repeated; first kept"),
                raw,
            ));
            continue;
        }
        let tmdb_text = r.fields[2].trim();
        let tmdb_id = if tmdb_text.is_empty() {
            None
        } else {
            match parse_int(tmdb_text) {
                Some(id) => Some(id),
                None => {
                    rejects.push(Reject::changed(
                        FILE,
                        r.line,
                        "bad_value",
                        format!("movieId {movielens_id}: tmdbId {tmdb_text:?} set to NULL"),
                        raw,
                    ));
                    None
                }
            }
        };
        links.push(Link {
            movielens_id,
            imdb_id: r.fields[1].trim().to_string(),
            tmdb_id,
        });
    }
    Ok((links, rejects))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_empty_and_repeated_tmdb_ids() {
        let text =
            "movieId,imdbId,tmdbId\r\n1,0114709,862\r\n2,0113497,\r\n3,0000003,862\r\n4,x,5.0\r\n";
        let (links, rejects) = stage(text.as_bytes()).unwrap();
        assert!(rejects.is_empty());
        assert_eq!(
            links[0],
            Link {
                movielens_id: 1,
                imdb_id: "0114709".into(),
                tmdb_id: Some(862)
            }
        );
        assert_eq!(links[1].tmdb_id, None);
        assert_eq!(links[2].tmdb_id, Some(862));
        assert_eq!(links[3].tmdb_id, Some(5));
    }

    #[test]
    fn bad_and_duplicate_movie_ids_are_rejected() {
        let text = "movieId,imdbId,tmdbId\n1,1,1\nabc,2,2\n1,3,3\n";
        let (links, rejects) = stage(text.as_bytes()).unwrap();
        assert_eq!(links.len(), 1);
        let reasons: Vec<_> = rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(reasons, [(3, "bad_id"), (4, "duplicate_id")]);
    }
}
