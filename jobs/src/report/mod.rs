//! The report: the four answers as one self-contained HTML page for the people
//! who asked them: for each question a one-sentence answer, a chart and the
//! table behind it; the definitions; and a lineage panel saying how much to
//! trust it. No script, no font, no image is fetched: the page opens offline.
//!
//! Table cells carry the exact value in `data-value` (what
//! `movielens answers --format json` prints), so a test or a person can check
//! the page against the JSON.

mod charts;
pub mod lineage;

use std::fmt::Write;

use crate::answers::{Answers, AnswersError, thousands};
use crate::lake::{Lake, LakeError};
use crate::transform::TransformError;
use charts::{Bars, bar_chart};
use lineage::Lineage;

pub use lineage::{StageTime, record_stages};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Answers(#[from] AnswersError),
    #[error(transparent)]
    Tables(#[from] TransformError),
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("report: reading {what}: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("report: {0}")]
    Chart(String),
}

/// Where `movielens run` leaves a run's report in the lake.
pub fn report_key(run_id: &str) -> String {
    format!("reports/{run_id}/report.html")
}

/// The report of the lake's published curated run, as HTML; `answers` are
/// that run's (`run` has read them already, `report` reads them first).
pub async fn build(lake: &Lake, answers: &Answers) -> Result<String, ReportError> {
    let lineage = lineage::collect(lake).await?;
    render(answers, &lineage)
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn money(v: f64) -> String {
    if v.abs() >= 1e9 {
        format!("${:.2} bn", v / 1e9)
    } else {
        format!("${:.1} m", v / 1e6)
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A table cell: shown text, exact value for checking.
fn cell(shown: &str, value: &str) -> String {
    format!("<td data-value=\"{}\">{}</td>", esc(value), esc(shown))
}

/// A cell of text (a title, a genre), aligned left.
fn text_cell(text: &str) -> String {
    format!("<td class=\"t\" data-value=\"{0}\">{0}</td>", esc(text))
}

fn table(id: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table id=\"{id}\"><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out += "</tr></thead><tbody>";
    for r in rows {
        out += "<tr>";
        out += &r.concat();
        out += "</tr>";
    }
    out + "</tbody></table>"
}

struct Section {
    id: &'static str,
    title: &'static str,
    answer: String,
    definition: &'static str,
    charts: Vec<String>,
    tables: Vec<String>,
}

/// The page for these answers and this lineage.
pub fn render(a: &Answers, lineage: &Lineage) -> Result<String, ReportError> {
    let chart = |b: Bars| bar_chart(&b).map_err(ReportError::Chart);
    let mut sections = Vec::new();

    // Q1
    let h = &a.highest_rated;
    let top = h.movies.first();
    sections.push(Section {
        id: "q1",
        title: "1. The highest rated movie of all time",
        answer: match top {
            Some(m) => format!(
                "{} ({}) is the highest rated movie: weighted rating {:.3} from {} ratings averaging {:.2}.",
                m.title,
                m.release_year.map_or("year unknown".into(), |y| y.to_string()),
                m.weighted_rating,
                thousands(m.n_ratings as f64),
                m.mean_rating
            ),
            None => "No movie has a mapped rating.".into(),
        },
        definition: "Weighted rating = n/(n+m)·R + m/(n+m)·C per movie (IMDb's formula): n its ratings, R their mean, C the mean of all mapped ratings, m the 90th percentile of per-movie rating counts. Only ratings that reach a movie through links.csv count.",
        charts: vec![chart(Bars {
            title: "Top movies by weighted rating",
            x_desc: "rank",
            y_desc: "weighted rating (stars)",
            labels: h.movies.iter().map(|m| m.rank.to_string()).collect(),
            series: vec![("weighted", h.movies.iter().map(|m| m.weighted_rating).collect())],
            y_format: |v| format!("{v:.1}"),
        })?],
        tables: vec![
            format!(
                "<p class=\"note\">C = <span id=\"q1-c\" data-value=\"{c}\">{c:.4}</span> over <span data-value=\"{n}\">{ns}</span> mapped ratings; m = <span id=\"q1-m\" data-value=\"{m}\">{m:.1}</span> ratings.</p>",
                c = h.global_mean_rating,
                n = h.rated_ratings,
                ns = thousands(h.rated_ratings as f64),
                m = h.min_ratings
            ),
            table(
                "q1-table",
                &["rank", "title", "year", "ratings (n)", "mean", "weighted"],
                &h.movies
                    .iter()
                    .map(|m| {
                        vec![
                            cell(&m.rank.to_string(), &m.rank.to_string()),
                            text_cell(&m.title),
                            cell(
                                &m.release_year.map(|y| y.to_string()).unwrap_or_default(),
                                &m.release_year.map(|y| y.to_string()).unwrap_or_default(),
                            ),
                            cell(&thousands(m.n_ratings as f64), &m.n_ratings.to_string()),
                            cell(&format!("{:.3}", m.mean_rating), &m.mean_rating.to_string()),
                            cell(&format!("{:.4}", m.weighted_rating), &m.weighted_rating.to_string()),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        ],
    });

    // Q2
    let g = &a.genre_popularity;
    // "Best rated" only among genres with at least 1% of the ratings: a
    // genre with a handful of ratings says little.
    let best_mean = g
        .iter()
        .filter(|r| r.share_of_ratings >= 0.01)
        .max_by(|x, y| x.mean_rating.total_cmp(&y.mean_rating));
    sections.push(Section {
        id: "q2",
        title: "2. Which genres are most popular with users",
        answer: match (g.first(), best_mean) {
            (Some(p), Some(b)) => format!(
                "{} is the most popular genre: {} ratings ({:.1}% of all mapped ratings) from {} users. The best rated genre with at least 1% of the ratings is {} (mean {:.2}).",
                p.genre,
                thousands(p.n_ratings as f64),
                p.share_of_ratings * 100.0,
                thousands(p.n_users as f64),
                b.genre,
                b.mean_rating
            ),
            _ => "No genre has a mapped rating.".into(),
        },
        definition: "Per genre, over the mapped ratings of its movies: ratings, distinct users, distinct rated movies, mean rating, and share of all mapped ratings. A movie counts in each of its genres, so shares add up to more than 100%.",
        charts: vec![
            chart(Bars {
                title: "Ratings by genre",
                x_desc: "genre",
                y_desc: "ratings",
                labels: g.iter().map(|r| r.genre.clone()).collect(),
                series: vec![("ratings", g.iter().map(|r| r.n_ratings as f64).collect())],
                y_format: |v| thousands(v),
            })?,
            chart(Bars {
                title: "Mean rating by genre",
                x_desc: "genre",
                y_desc: "mean rating (stars)",
                labels: g.iter().map(|r| r.genre.clone()).collect(),
                series: vec![("mean", g.iter().map(|r| r.mean_rating).collect())],
                y_format: |v| format!("{v:.1}"),
            })?,
        ],
        tables: vec![table(
            "q2-table",
            &["genre", "ratings", "users", "movies", "mean", "share"],
            &g.iter()
                .map(|r| {
                    vec![
                        text_cell(&r.genre),
                        cell(&thousands(r.n_ratings as f64), &r.n_ratings.to_string()),
                        cell(&thousands(r.n_users as f64), &r.n_users.to_string()),
                        cell(&thousands(r.n_movies as f64), &r.n_movies.to_string()),
                        cell(&format!("{:.3}", r.mean_rating), &r.mean_rating.to_string()),
                        cell(&format!("{:.1}%", r.share_of_ratings * 100.0), &r.share_of_ratings.to_string()),
                    ]
                })
                .collect::<Vec<_>>(),
        )],
    });

    // Q3
    let by_month = &a.box_office_by_month;
    let by_quarter = &a.box_office_by_quarter;
    let best_month = by_month
        .iter()
        .max_by(|x, y| x.mean_revenue.total_cmp(&y.mean_revenue));
    let worst_month = by_month
        .iter()
        .min_by(|x, y| x.mean_revenue.total_cmp(&y.mean_revenue));
    let best_quarter = by_quarter
        .iter()
        .max_by(|x, y| x.mean_revenue.total_cmp(&y.mean_revenue));
    let month_name = |m: u32| {
        MONTHS
            .get(m.wrapping_sub(1) as usize)
            .copied()
            .unwrap_or("?")
    };
    sections.push(Section {
        id: "q3",
        title: "3. Does the release month or quarter drive box-office earnings?",
        answer: match (best_month, worst_month, best_quarter) {
            (Some(b), Some(w), Some(q)) => format!(
                "Movies released in {} earn the most on average ({} mean, {} median, {} movies), those released in {} the least ({} mean); by quarter, Q{} leads ({} mean, {} median).",
                month_name(b.month),
                money(b.mean_revenue),
                money(b.median_revenue),
                b.n_movies,
                month_name(w.month),
                money(w.mean_revenue),
                q.quarter,
                money(q.mean_revenue),
                money(q.median_revenue)
            ),
            _ => "No movie has both a known revenue and a release date.".into(),
        },
        definition: "Movies with a known revenue (> 0; the source writes 0 for unknown) and a release date, by release month and by quarter: movie count, total, mean and median revenue, in nominal US dollars. Means are pulled up by blockbusters; compare with the medians.",
        charts: vec![
            chart(Bars {
                title: "Revenue by release month (mean and median)",
                x_desc: "release month",
                y_desc: "revenue per movie (USD)",
                labels: by_month.iter().map(|r| month_name(r.month).chars().take(3).collect()).collect(),
                series: vec![
                    ("mean", by_month.iter().map(|r| r.mean_revenue).collect()),
                    ("median", by_month.iter().map(|r| r.median_revenue).collect()),
                ],
                y_format: money,
            })?,
            chart(Bars {
                title: "Revenue by release quarter (mean and median)",
                x_desc: "release quarter",
                y_desc: "revenue per movie (USD)",
                labels: by_quarter.iter().map(|r| format!("Q{}", r.quarter)).collect(),
                series: vec![
                    ("mean", by_quarter.iter().map(|r| r.mean_revenue).collect()),
                    ("median", by_quarter.iter().map(|r| r.median_revenue).collect()),
                ],
                y_format: money,
            })?,
        ],
        tables: vec![
            table(
                "q3-month-table",
                &["month", "movies", "total", "mean", "median"],
                &by_month
                    .iter()
                    .map(|r| {
                        vec![
                            cell(month_name(r.month), &r.month.to_string()),
                            cell(&r.n_movies.to_string(), &r.n_movies.to_string()),
                            cell(&money(r.total_revenue as f64), &r.total_revenue.to_string()),
                            cell(&money(r.mean_revenue), &r.mean_revenue.to_string()),
                            cell(&money(r.median_revenue), &r.median_revenue.to_string()),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
            table(
                "q3-quarter-table",
                &["quarter", "movies", "total", "mean", "median"],
                &by_quarter
                    .iter()
                    .map(|r| {
                        vec![
                            cell(&format!("Q{}", r.quarter), &r.quarter.to_string()),
                            cell(&r.n_movies.to_string(), &r.n_movies.to_string()),
                            cell(&money(r.total_revenue as f64), &r.total_revenue.to_string()),
                            cell(&money(r.mean_revenue), &r.mean_revenue.to_string()),
                            cell(&money(r.median_revenue), &r.median_revenue.to_string()),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        ],
    });

    // Q4
    let e = &a.genre_earnings_real;
    let shown: Vec<_> = e.genres.iter().take(12).collect();
    sections.push(Section {
        id: "q4",
        title: "4. Which genres earn the most of all time, CPI-adjusted",
        answer: match e.genres.first() {
            Some(top) => format!(
                "{} earns the most: {} in {} dollars ({} nominal) across {} movies. {} movies released before the CPI series began are excluded.",
                top.genre,
                money(top.revenue_real),
                e.cpi_base_month,
                money(top.revenue_nominal as f64),
                top.n_movies,
                e.movies_before_cpi_window
            ),
            None => "No movie could be deflated.".into(),
        },
        definition: "Real revenue = revenue × CPI(base month) / CPI(release month), with FRED's CUSR0000SS62031 (admission to movies, theaters and concerts); the base is the last month with a value. Movies released before the series (1999-01), in a month FRED left blank or after its end are excluded. A movie counts in each of its genres.",
        charts: vec![chart(Bars {
            title: "Revenue by genre: nominal and CPI-adjusted",
            x_desc: "genre",
            y_desc: "total revenue (USD)",
            labels: shown.iter().map(|r| r.genre.clone()).collect(),
            series: vec![
                ("nominal", shown.iter().map(|r| r.revenue_nominal as f64).collect()),
                ("real", shown.iter().map(|r| r.revenue_real).collect()),
            ],
            y_format: money,
        })?],
        tables: vec![
            format!(
                "<p class=\"note\">Base month <span id=\"q4-base\" data-value=\"{b}\">{b}</span>; <span id=\"q4-before\" data-value=\"{n}\">{n}</span> movies released before the CPI series are excluded.</p>",
                b = esc(&e.cpi_base_month),
                n = e.movies_before_cpi_window
            ),
            table(
                "q4-table",
                &["genre", "movies", "nominal", "real"],
                &e.genres
                    .iter()
                    .map(|r| {
                        vec![
                            text_cell(&r.genre),
                            cell(&r.n_movies.to_string(), &r.n_movies.to_string()),
                            cell(&money(r.revenue_nominal as f64), &r.revenue_nominal.to_string()),
                            cell(&money(r.revenue_real), &r.revenue_real.to_string()),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ),
        ],
    });

    Ok(page(&sections, lineage))
}

fn lineage_panel(l: &Lineage) -> String {
    let read: u64 = l.ratings.iter().map(|o| o.n_ratings).sum();
    let mapped: u64 = l
        .ratings
        .iter()
        .filter(|o| o.outcome == "mapped")
        .map(|o| o.n_ratings)
        .sum();
    let mut out = format!(
        "<p>Curated run <code id=\"run-id\">{}</code> (published {}), from staging run <code>{}</code>. \
         <span id=\"ratings-read\" data-value=\"{read}\">{}</span> ratings read, \
         <span id=\"ratings-mapped\" data-value=\"{mapped}\">{}</span> mapped to a movie ({:.1}%).</p>",
        esc(&l.curated_run),
        esc(&l.curated_published_at),
        esc(&l.staging_run),
        thousands(read as f64),
        thousands(mapped as f64),
        if read > 0 {
            mapped as f64 * 100.0 / read as f64
        } else {
            0.0
        }
    );
    out += &table(
        "lineage-ratings",
        &["what became of the ratings", "ratings", "MovieLens ids"],
        &l.ratings
            .iter()
            .map(|o| {
                vec![
                    text_cell(&o.outcome),
                    cell(&thousands(o.n_ratings as f64), &o.n_ratings.to_string()),
                    cell(
                        &thousands(o.n_movielens_ids as f64),
                        &o.n_movielens_ids.to_string(),
                    ),
                ]
            })
            .collect::<Vec<_>>(),
    );
    out += &table(
        "lineage-rejects",
        &["input file", "action", "reason", "records"],
        &l.rejects
            .iter()
            .map(|(f, a, r, n)| {
                vec![
                    text_cell(f),
                    text_cell(a),
                    text_cell(r),
                    cell(&thousands(*n as f64), &n.to_string()),
                ]
            })
            .collect::<Vec<_>>(),
    );
    out += &table(
        "lineage-tables",
        &["table", "rows"],
        &l.tables
            .iter()
            .map(|(t, n)| vec![text_cell(t), cell(&thousands(*n as f64), &n.to_string())])
            .collect::<Vec<_>>(),
    );
    out += &table(
        "lineage-inputs",
        &["input (lake key)", "bytes", "SHA-256"],
        &l.inputs
            .iter()
            .map(|(k, b, s)| {
                vec![
                    text_cell(k),
                    cell(&thousands(*b as f64), &b.to_string()),
                    text_cell(s),
                ]
            })
            .collect::<Vec<_>>(),
    );
    if l.stages.is_empty() {
        out += "<p class=\"note\">Stage timings are recorded by <code>movielens run</code>; this run was made stage by stage.</p>";
    } else {
        out += &table(
            "lineage-stages",
            &["stage", "seconds", "rows"],
            &l.stages
                .iter()
                .map(|s| {
                    let rows = s.rows.map(|r| r.to_string()).unwrap_or_default();
                    vec![
                        text_cell(&s.stage),
                        cell(&format!("{:.2}", s.seconds), &s.seconds.to_string()),
                        cell(&rows, &rows),
                    ]
                })
                .collect::<Vec<_>>(),
        );
    }
    out
}

const STYLE: &str = "
:root { color-scheme: light dark; --fg: #1d232a; --bg: #ffffff; --muted: #5b6570; --rule: #d8dde3; --panel: #f5f7f9; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ec; --bg: #15191d; --muted: #9aa5b1; --rule: #343b43; --panel: #1d2329; }
}
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; border-top: 1px solid var(--rule); padding-top: 20px; }
.answer { font-size: 17px; font-weight: 600; }
.definition, .note, .sub { color: var(--muted); }
svg { color: var(--fg); max-width: 100%; height: auto; display: block; margin: 12px 0; }
table { border-collapse: collapse; margin: 12px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--rule); text-align: right; }
th:first-child, td:first-child, td.t { text-align: left; }
section.lineage { background: var(--panel); padding: 4px 16px 16px; border-radius: 6px; }
code { font-size: 13px; }
td { white-space: nowrap; }
td.t { white-space: normal; word-break: break-word; }
";

fn page(sections: &[Section], lineage: &Lineage) -> String {
    let mut body = String::new();
    for s in sections {
        let _ = write!(
            body,
            "<section id=\"{}\"><h2>{}</h2><p class=\"answer\">{}</p><p class=\"definition\">{}</p>{}{}</section>",
            s.id,
            esc(s.title),
            esc(&s.answer),
            esc(s.definition),
            s.charts.concat(),
            s.tables.concat()
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>movielens: four answers (run {run})</title><style>{STYLE}</style></head>\
         <body><main><h1>The Movies Dataset: four answers</h1>\
         <p class=\"sub\">MovieLens ratings mapped to TMDB movies through links.csv, with FRED's CPI for movie admissions. Run {run}.</p>\
         {body}<h2>Definitions and lineage</h2><section class=\"lineage\" id=\"lineage\">{lineage}</section></main></body></html>\n",
        run = esc(&lineage.curated_run),
        lineage = lineage_panel(lineage)
    )
}
