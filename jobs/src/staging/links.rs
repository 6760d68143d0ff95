//! `links.csv`: MovieLens id → IMDb id, TMDB id. The only bridge from ratings to movies.

use std::collections::HashSet;
use std::io::Read;

use super::records::{Item, RawRecord, ReadError, Records};
use super::{Reject, Staged, parse_int};

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
    super::collect(Links::new(bytes)?)
}

/// The links of a file one at a time; memory holds the MovieLens ids seen
/// (first one wins).
pub struct Links<R: Read> {
    records: Records<R>,
    seen: HashSet<i64>,
    /// A link waiting behind the reject of one of its values.
    queued: Option<Link>,
}

impl<R: Read> Links<R> {
    pub fn new(input: R) -> Result<Self, ReadError> {
        Ok(Self {
            records: Records::new(FILE, input, &HEADER)?,
            seen: HashSet::new(),
            queued: None,
        })
    }

    /// The link of `r`, and the reject its record earns, if any.
    fn stage_record(&mut self, r: RawRecord) -> (Option<Link>, Option<Reject>) {
        let raw = r.fields.join(",");
        let Some(movielens_id) = parse_int(&r.fields[0]) else {
            let detail = format!("movieId {:?} is not an integer", r.fields[0]);
            return (
                None,
                Some(Reject::dropped(FILE, r.line, "bad_id", detail, raw)),
            );
        };
        if !self.seen.insert(movielens_id) {
            let detail = format!("movieId {movielens_id} repeated; first kept");
            return (
                None,
                Some(Reject::dropped(FILE, r.line, "duplicate_id", detail, raw)),
            );
        }
        let tmdb_text = r.fields[2].trim();
        let (tmdb_id, reject) = match parse_int(tmdb_text) {
            _ if tmdb_text.is_empty() => (None, None),
            Some(id) => (Some(id), None),
            None => {
                let detail = format!("movieId {movielens_id}: tmdbId {tmdb_text:?} set to NULL");
                (
                    None,
                    Some(Reject::changed(FILE, r.line, "bad_value", detail, raw)),
                )
            }
        };
        let link = Link {
            movielens_id,
            imdb_id: r.fields[1].trim().to_string(),
            tmdb_id,
        };
        (Some(link), reject)
    }
}

impl<R: Read> Iterator for Links<R> {
    type Item = Result<Staged<Link>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(link) = self.queued.take() {
            return Some(Ok(Staged::Row(link)));
        }
        loop {
            let record = match self.records.next()? {
                Err(e) => return Some(Err(e)),
                Ok(Item::Reject(r)) => return Some(Ok(Staged::RecordReject(r))),
                Ok(Item::Record(record)) => record,
            };
            match self.stage_record(record) {
                (link, Some(reject)) => {
                    self.queued = link;
                    return Some(Ok(Staged::Reject(reject)));
                }
                (Some(link), None) => return Some(Ok(Staged::Row(link))),
                (None, None) => {}
            }
        }
    }
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
