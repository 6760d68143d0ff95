//! The answers as plain-text tables, each headed by its definition.

use std::fmt::Write;

use super::Answers;

/// Right-aligned columns two spaces apart under a dashed rule, sized by
/// display width: a CJK title takes two columns per character.
fn table(out: &mut String, header: &[&str], rows: Vec<Vec<String>>) {
    use comfy_table::{CellAlignment, ContentArrangement, Table};
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for r in rows {
        t.add_row(r);
    }
    for column in t.column_iter_mut() {
        column.set_cell_alignment(CellAlignment::Right);
        column.set_padding((0, 2));
    }
    let lines: Vec<String> = t.lines().map(|l| l.trim_end().to_string()).collect();
    let width = lines
        .iter()
        .map(|l| unicode_width::UnicodeWidthStr::width(l.as_str()))
        .max()
        .unwrap_or(0);
    for (i, line) in lines.iter().enumerate() {
        let _ = writeln!(out, "{line}");
        if i == 0 {
            let _ = writeln!(out, "{}", "-".repeat(width));
        }
    }
    out.push('\n');
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0.0 { format!("-{out}") } else { out }
}

pub fn render_text(a: &Answers) -> String {
    let mut out = String::new();
    let h = &a.highest_rated;
    let _ = writeln!(
        out,
        "1. Highest rated movies (weighted rating = n/(n+m)*R + m/(n+m)*C)"
    );
    let _ = writeln!(
        out,
        "   C = {:.4} over {} mapped ratings; m = {:.1} (percentile of per-movie rating counts)\n",
        h.global_mean_rating, h.rated_ratings, h.min_ratings
    );
    table(
        &mut out,
        &["rank", "tmdb_id", "title", "year", "n", "mean", "weighted"],
        h.movies
            .iter()
            .map(|m| {
                vec![
                    m.rank.to_string(),
                    m.tmdb_id.to_string(),
                    m.title.chars().take(40).collect(),
                    m.release_year.map(|y| y.to_string()).unwrap_or_default(),
                    m.n_ratings.to_string(),
                    format!("{:.3}", m.mean_rating),
                    format!("{:.4}", m.weighted_rating),
                ]
            })
            .collect(),
    );
    let _ = writeln!(
        out,
        "2. Genre popularity (mapped ratings of movies in each genre; a movie counts in each of its genres)\n"
    );
    table(
        &mut out,
        &["genre", "ratings", "users", "movies", "mean", "share"],
        a.genre_popularity
            .iter()
            .map(|g| {
                vec![
                    g.genre.clone(),
                    g.n_ratings.to_string(),
                    g.n_users.to_string(),
                    g.n_movies.to_string(),
                    format!("{:.3}", g.mean_rating),
                    format!("{:.1}%", g.share_of_ratings * 100.0),
                ]
            })
            .collect(),
    );
    let _ = writeln!(
        out,
        "3. Box office by release month and quarter (movies with known revenue and release date; USD, nominal)\n"
    );
    let money_rows = |key: String, n: u64, total: i64, mean: f64, median: f64| {
        vec![
            key,
            n.to_string(),
            thousands(total as f64),
            thousands(mean),
            thousands(median),
        ]
    };
    table(
        &mut out,
        &["month", "movies", "total", "mean", "median"],
        a.box_office_by_month
            .iter()
            .map(|m| {
                money_rows(
                    m.month.to_string(),
                    m.n_movies,
                    m.total_revenue,
                    m.mean_revenue,
                    m.median_revenue,
                )
            })
            .collect(),
    );
    table(
        &mut out,
        &["quarter", "movies", "total", "mean", "median"],
        a.box_office_by_quarter
            .iter()
            .map(|q| {
                money_rows(
                    format!("Q{}", q.quarter),
                    q.n_movies,
                    q.total_revenue,
                    q.mean_revenue,
                    q.median_revenue,
                )
            })
            .collect(),
    );
    let e = &a.genre_earnings_real;
    let _ = writeln!(
        out,
        "4. Genre earnings, CPI-adjusted to {} USD (revenue x CPI(base) / CPI(release month));\n   {} movies with revenue released before the CPI series are excluded\n",
        e.cpi_base_month, e.movies_before_cpi_window
    );
    table(
        &mut out,
        &["genre", "movies", "nominal", "real"],
        e.genres
            .iter()
            .map(|g| {
                vec![
                    g.genre.clone(),
                    g.n_movies.to_string(),
                    thousands(g.revenue_nominal as f64),
                    thousands(g.revenue_real),
                ]
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_by_display_width_with_cjk_titles() {
        let mut out = String::new();
        super::table(
            &mut out,
            &["title", "n"],
            vec![
                vec!["千と千尋の神隠し".into(), "1".into()],
                vec!["Spirited Away".into(), "22".into()],
            ],
        );
        let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 4, "{out}");
        // Right-aligned: every line ends at the same display column.
        let widths: Vec<usize> = lines
            .iter()
            .map(|l| unicode_width::UnicodeWidthStr::width(*l))
            .collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}\n{out}");
        assert!(lines[1].starts_with('-'), "{out}");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(1234567.4), "1,234,567");
        assert_eq!(super::thousands(999.0), "999");
        assert_eq!(super::thousands(-1000.0), "-1,000");
    }
}
