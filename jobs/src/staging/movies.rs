//! `movies_metadata.csv` → typed movies and their genres.

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use chrono::NaiveDate;

use super::pyliteral::{self, PyValue};
use super::records::{Item, RawRecord, ReadError, Records};
use super::{RELEASE_DATES, Reject, Staged, parse_date, parse_float, parse_int, parse_money};

pub const FILE: &str = "movies_metadata.csv";

pub const HEADER: [&str; 24] = [
    "adult",
    "belongs_to_collection",
    "budget",
    "genres",
    "homepage",
    "id",
    "imdb_id",
    "original_language",
    "original_title",
    "overview",
    "popularity",
    "poster_path",
    "production_companies",
    "production_countries",
    "release_date",
    "revenue",
    "runtime",
    "spoken_languages",
    "status",
    "tagline",
    "title",
    "video",
    "vote_average",
    "vote_count",
];

fn col(name: &str) -> usize {
    HEADER
        .iter()
        .position(|h| *h == name)
        .expect("known column")
}

/// One movie as staged: typed, unknowns as `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Movie {
    pub tmdb_id: i64,
    pub imdb_id: Option<String>,
    pub title: String,
    pub original_title: String,
    pub original_language: Option<String>,
    pub adult: bool,
    pub status: Option<String>,
    pub release_date: Option<NaiveDate>,
    /// `None` where the file says 0 (unknown).
    pub budget: Option<i64>,
    /// `None` where the file says 0 (unknown).
    pub revenue: Option<i64>,
    pub runtime: Option<f64>,
    pub popularity: Option<f64>,
    pub vote_average: Option<f64>,
    pub vote_count: Option<i64>,
    /// (TMDB genre id, genre name), in file order.
    pub genres: Vec<(i64, String)>,
    /// Line of the file where the record starts.
    pub line: u64,
}

/// Parses the whole metadata file. Keeps the first record of each TMDB id.
pub fn stage(bytes: &[u8]) -> Result<(Vec<Movie>, Vec<Reject>), ReadError> {
    super::collect(Movies::new(bytes)?)
}

/// The movies of a metadata file one at a time, first record of each TMDB id
/// kept. Memory holds one record and, per id seen, its line and a fingerprint
/// of its values (to tell an identical repeat from a conflicting one), so a
/// catalogue of any size stages in bounded memory.
pub struct Movies<R: Read> {
    records: Records<R>,
    /// TMDB id → (line, fingerprint) of the record kept.
    kept: HashMap<i64, (u64, u64)>,
    /// Rejects of the record being typed, given out before its movie.
    pending: VecDeque<Staged<Movie>>,
}

impl<R: Read> Movies<R> {
    pub fn new(input: R) -> Result<Self, ReadError> {
        Ok(Self {
            records: Records::new(FILE, input, &HEADER)?,
            kept: HashMap::new(),
            pending: VecDeque::new(),
        })
    }

    fn stage_record(&mut self, record: RawRecord) {
        let raw = record.fields.join(",");
        let mut rejects = Vec::new();
        let movie = type_record(&record, &raw, &mut rejects);
        self.pending.extend(rejects.into_iter().map(Staged::Reject));
        let Some(movie) = movie else { return };
        let print = fingerprint(&movie);
        if let Some(&(line, kept_print)) = self.kept.get(&movie.tmdb_id) {
            self.pending.push_back(Staged::Reject(Reject::dropped(
                FILE,
                movie.line,
                "duplicate_id",
                format!(
                    "id {} already on line {line} ({})",
                    movie.tmdb_id,
                    if print == kept_print {
                        "identical"
                    } else {
                        "conflicting; first kept"
                    }
                ),
                raw,
            )));
            return;
        }
        self.kept.insert(movie.tmdb_id, (movie.line, print));
        self.pending.push_back(Staged::Row(movie));
    }
}

impl<R: Read> Iterator for Movies<R> {
    type Item = Result<Staged<Movie>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(staged) = self.pending.pop_front() {
                return Some(Ok(staged));
            }
            match self.records.next()? {
                Err(e) => return Some(Err(e)),
                Ok(Item::Reject(r)) => return Some(Ok(Staged::RecordReject(r))),
                Ok(Item::Record(record)) => self.stage_record(record),
            }
        }
    }
}

/// A hash of every value of `movie` but its line: equal for records that
/// type to the same movie. (Debug prints floats exactly, so equal text means
/// equal values.)
fn fingerprint(movie: &Movie) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    format!(
        "{:?}",
        Movie {
            line: 0,
            ..movie.clone()
        }
    )
    .hash(&mut hasher);
    hasher.finish()
}

fn type_record(record: &RawRecord, raw: &str, rejects: &mut Vec<Reject>) -> Option<Movie> {
    let f = |name: &str| record.fields[col(name)].trim();
    let line = record.line;
    let Some(tmdb_id) = parse_int(f("id")) else {
        rejects.push(Reject::dropped(
            FILE,
            line,
            "bad_id",
            format!("id {:?} is not an integer", f("id")),
            raw.to_string(),
        ));
        return None;
    };
    // A value that is present but unreadable (bad_value), or readable but not
    // what the column can mean (implausible_value), becomes NULL; the record is
    // kept and the change recorded with its reason.
    let mut changes: Vec<(&'static str, String)> = Vec::new();
    let mut number = |column: &str| -> Option<f64> {
        let text = f(column);
        let v = parse_float(text);
        if v.is_none() && !text.is_empty() {
            changes.push(("bad_value", format!("{column} {text:?}")));
        }
        v
    };
    let runtime = number("runtime");
    let popularity = number("popularity");
    let vote_average = number("vote_average");
    let vote_count_text = f("vote_count");
    let vote_count = parse_int(vote_count_text);
    if vote_count.is_none() && !vote_count_text.is_empty() {
        changes.push(("bad_value", format!("vote_count {vote_count_text:?}")));
    }
    let mut money = |column: &str| {
        parse_money(f(column)).unwrap_or_else(|why| {
            changes.push(("implausible_value", format!("{column} {why}")));
            None
        })
    };
    let budget = money("budget");
    let revenue = money("revenue");
    let release_text = f("release_date");
    let (earliest, latest) = RELEASE_DATES;
    let release_date = match parse_date(release_text) {
        _ if release_text.is_empty() => None,
        None => {
            changes.push(("bad_value", format!("release_date {release_text:?}")));
            None
        }
        Some(d) if d < earliest || d > latest => {
            changes.push((
                "implausible_value",
                format!(
                    "release_date {d} is outside {earliest} ... {latest}, the span of film releases"
                ),
            ));
            None
        }
        Some(d) => Some(d),
    };
    let genres = parse_genres(f("genres")).unwrap_or_else(|e| {
        changes.push((
            "bad_genres",
            format!("genres not a list of {{id, name}} ({e})"),
        ));
        Vec::new()
    });
    for (reason, what) in changes {
        let outcome = if reason == "bad_genres" {
            "set to none"
        } else {
            "set to NULL"
        };
        rejects.push(Reject::changed(
            FILE,
            line,
            reason,
            format!("id {tmdb_id}: {what}; {outcome}"),
            raw.to_string(),
        ));
    }
    let text = |name: &str| Some(f(name).to_string()).filter(|s| !s.is_empty());
    Some(Movie {
        tmdb_id,
        imdb_id: text("imdb_id"),
        title: record.fields[col("title")].clone(),
        original_title: record.fields[col("original_title")].clone(),
        original_language: text("original_language"),
        adult: f("adult") == "True",
        status: text("status"),
        release_date,
        // 0 means unknown in TMDB (parse_money); tiny positive values are kept
        // as written.
        budget,
        revenue,
        runtime,
        popularity,
        vote_average,
        vote_count,
        genres,
        line,
    })
}

/// `[{'id': 16, 'name': 'Animation'}, …]` → [(16, "Animation"), …]. Empty text is no genres.
pub fn parse_genres(text: &str) -> Result<Vec<(i64, String)>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let value = pyliteral::parse(text).map_err(|e| e.to_string())?;
    let PyValue::List(items) = value else {
        return Err("not a list".into());
    };
    items
        .iter()
        .map(|item| {
            let id = item
                .get("id")
                .and_then(PyValue::as_i64)
                .ok_or("an item has no integer id")?;
            let name = item
                .get("name")
                .and_then(PyValue::as_str)
                .ok_or("an item has no name")?;
            Ok((id, name.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(
        id: &str,
        budget: &str,
        genres: &str,
        date: &str,
        revenue: &str,
        title: &str,
    ) -> String {
        // adult,collection,budget,genres,homepage,id,imdb,lang,orig_title,overview,popularity,poster,
        // companies,countries,release_date,revenue,runtime,langs,status,tagline,title,video,avg,count
        format!(
            "False,,{budget},\"{genres}\",,{id},tt0000001,en,{title},\"An overview, with comma\",1.5,/p.jpg,[],[],{date},{revenue},81.0,[],Released,,{title},False,7.7,10\n"
        )
    }

    fn file(lines: &[String]) -> Vec<u8> {
        let mut s = HEADER.join(",") + "\n";
        for l in lines {
            s.push_str(l);
        }
        s.into_bytes()
    }

    #[test]
    fn types_values_zero_means_unknown_and_floats_are_accepted() {
        let text = file(&[
            line(
                "862",
                "30000000",
                "[{'id': 16, 'name': 'Animation'}]",
                "1995-10-30",
                "373554033",
                "Toy Story",
            ),
            line("8844", "0", "[]", "", "1234567.0", "Jumanji"),
        ]);
        let (movies, rejects) = stage(&text).unwrap();
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(movies[0].tmdb_id, 862);
        assert_eq!(movies[0].budget, Some(30_000_000));
        assert_eq!(movies[0].genres, vec![(16, "Animation".to_string())]);
        assert_eq!(movies[0].runtime, Some(81.0));
        assert_eq!(
            movies[0].release_date,
            NaiveDate::from_ymd_opt(1995, 10, 30)
        );
        assert_eq!(movies[1].budget, None);
        assert_eq!(movies[1].revenue, Some(1_234_567));
        assert_eq!(movies[1].release_date, None);
        assert!(movies[1].genres.is_empty());
    }

    #[test]
    fn non_integer_id_is_rejected_and_neighbours_kept() {
        let text = file(&[
            line("1", "0", "[]", "", "0", "A"),
            line("1997-08-20", "0", "[]", "", "0", "B"),
            line("2", "0", "[]", "", "0", "C"),
        ]);
        let (movies, rejects) = stage(&text).unwrap();
        assert_eq!(movies.iter().map(|m| m.tmdb_id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(rejects.len(), 1);
        assert_eq!((rejects[0].reason.as_str(), rejects[0].line), ("bad_id", 3));
    }

    #[test]
    fn duplicate_ids_keep_the_first_in_file_order() {
        let a = line("5", "10", "[]", "2000-01-01", "0", "First");
        let text = file(&[
            a.clone(),
            a,
            line("5", "99", "[]", "2000-01-01", "0", "Conflict"),
        ]);
        let (movies, rejects) = stage(&text).unwrap();
        assert_eq!(movies.len(), 1);
        assert_eq!(movies[0].title, "First");
        assert_eq!(rejects.len(), 2);
        assert!(rejects[0].detail.contains("identical"), "{:?}", rejects[0]);
        assert!(
            rejects[1].detail.contains("conflicting"),
            "{:?}",
            rejects[1]
        );
    }

    #[test]
    fn bad_dates_and_genres_become_null_and_are_recorded() {
        let text = file(&[line(
            "7",
            "0",
            "[{'id': 1, 'name': 'X'",
            "1999-02-30",
            "0",
            "T",
        )]);
        let (movies, rejects) = stage(&text).unwrap();
        assert_eq!(movies[0].release_date, None);
        assert!(movies[0].genres.is_empty());
        let reasons: Vec<_> = rejects.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, ["bad_value", "bad_genres"]);
    }

    #[test]
    fn split_record_from_the_real_file_shape_is_repaired() {
        // The stub ends inside overview; the fragment carries the other 15 fields.
        let stub = "False,,0,\"[{'id': 18, 'name': 'Drama'}]\",,113,tt0000113,en,Split,First part of the story\n";
        let fragment =
            "second part.,0.5,/p.jpg,[],[],1997-08-20,5000,90.0,[],Released,,Split,False,6.0,3\n";
        let text = file(&[
            stub.to_string(),
            fragment.to_string(),
            line("9", "0", "[]", "", "0", "Next"),
        ]);
        let (movies, rejects) = stage(&text).unwrap();
        assert_eq!(movies.len(), 2);
        let m = &movies[0];
        assert_eq!(m.tmdb_id, 113);
        assert_eq!(m.release_date, NaiveDate::from_ymd_opt(1997, 8, 20));
        assert_eq!(m.revenue, Some(5000));
        assert_eq!(m.genres, vec![(18, "Drama".to_string())]);
        assert_eq!(rejects[0].reason, "split_record_repaired");
    }

    #[test]
    fn values_no_film_can_have_are_rejected_with_their_line() {
        let text = file(&[
            line("1", "-5", "[]", "9999-01-01", "99999999999999999999", "A"),
            line("1e3", "0", "[]", "", "0", "B"),
            line("3", "1.5e8", "[]", "1874-12-09", "2.5", "C"),
        ]);
        let (movies, rejects) = stage(&text).unwrap();
        assert_eq!(movies.iter().map(|m| m.tmdb_id).collect::<Vec<_>>(), [1, 3]);
        let (a, c) = (&movies[0], &movies[1]);
        assert_eq!((a.budget, a.revenue, a.release_date), (None, None, None));
        assert_eq!((c.budget, c.revenue), (None, None));
        assert_eq!(c.release_date, NaiveDate::from_ymd_opt(1874, 12, 9));
        let got: Vec<_> = rejects
            .iter()
            .map(|r| (r.line, r.action, r.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "changed", "implausible_value"),
                (2, "changed", "implausible_value"),
                (2, "changed", "implausible_value"),
                (3, "dropped", "bad_id"),
                (4, "changed", "implausible_value"),
                (4, "changed", "implausible_value"),
            ]
        );
        assert!(
            rejects[0].detail.contains("budget -5 is negative"),
            "{:?}",
            rejects[0]
        );
        assert!(rejects[1].detail.contains("revenue"), "{:?}", rejects[1]);
        assert!(
            rejects[2].detail.contains("release_date 9999-01-01"),
            "{:?}",
            rejects[2]
        );
    }
}
