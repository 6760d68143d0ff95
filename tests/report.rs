//! The report as a person sees it: opened in headless Chromium (Debian's
//! `chromium`), it renders without console errors or network requests, shows
//! the four sections with their charts, and carries the same numbers as
//! `movielens answers --format json`. A screenshot is kept in
//! target/report-screenshot.png.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{loud, movielens, run_ok, shared_data};
use movielens::answers::Answers;

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output()
            && out.status.success()
        {
            return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("chromium is not installed (apt-get install chromium); .ci/run installs it");
    }
    loud("SKIPPING: chromium not installed (apt-get install chromium)");
    None
}

/// Runs headless Chromium on `page` with `extra` flags; returns (stdout, stderr).
fn headless(browser: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            // Level 1 logs the page's console messages ("INFO:CONSOLE").
            "--enable-logging=stderr",
            "--v=1",
            "--virtual-time-budget=3000",
        ])
        // Nothing may leave this machine: the browser's own background
        // services are switched off, every host resolves to nothing and any
        // connection would go to a closed loopback port.
        .args([
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--no-pings",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Appended to a copy of a page: after load, lists every resource the page
/// fetched (or tried to: failed fetches are listed too) in `#resource-probe`.
const PROBE: &str = "<script>addEventListener('load', () => { const p = document.createElement('pre'); \
    p.id = 'resource-probe'; p.textContent = JSON.stringify(performance.getEntriesByType('resource').map(e => e.name)); \
    document.body.appendChild(p); });</script>";

/// Renders `page` (with the probe) and returns (DOM, console lines, resources as JSON).
fn render(browser: &Path, page: &Path, dir: &Path) -> (String, Vec<String>, String) {
    let html = std::fs::read_to_string(page).unwrap();
    let probed = dir.join("probed.html");
    std::fs::write(
        &probed,
        html.replacen("</body>", &format!("{PROBE}</body>"), 1),
    )
    .unwrap();
    let (dom, stderr) = headless(browser, &probed, &["--dump-dom"]);
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    let tag = "<pre id=\"resource-probe\">";
    let start = dom.find(tag).expect("the probe ran") + tag.len();
    let resources = unescape(&dom[start..start + dom[start..].find("</pre>").unwrap()]);
    (dom, console, resources)
}

/// The checks above can fail: a page that fetches an image and logs an error
/// is caught by both (nothing leaves the machine: names resolve to nothing).
#[test]
fn the_browser_checks_catch_a_fetch_and_a_console_error() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"https://example.invalid/x.png\"><script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    let (_, console, resources) = render(&browser, &page, dir.path());
    assert!(console.iter().any(|l| l.contains("boom")), "{console:?}");
    assert!(
        resources.contains("https://example.invalid/x.png"),
        "{resources}"
    );
}

/// The `data-value`s of each row of the table with this id, in the DOM.
fn table_values(dom: &str, id: &str) -> Vec<Vec<String>> {
    let start = dom
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("table {id} missing"));
    let end = start + dom[start..].find("</table>").unwrap();
    dom[start..end]
        .split("<tr>")
        .skip(2)
        .map(|row| {
            row.split("data-value=\"")
                .skip(1)
                .map(|v| unescape(&v[..v.find('"').unwrap()]))
                .collect()
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

fn check_page(lake: &Path, out_dir: &Path, screenshot: &Path) {
    let Some(browser) = chromium() else { return };
    let page = out_dir.join("report.html");
    run_ok(
        movielens()
            .arg("--lake")
            .arg(lake)
            .args(["report", "--out"])
            .arg(&page),
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing on the page can fetch anything.
    for fetcher in [
        "<script", "<link", "<img", "<iframe", " src=", " href=", "url(", "@import",
    ] {
        assert!(!html.contains(fetcher), "the page contains {fetcher:?}");
    }
    let json = run_ok(
        movielens()
            .arg("--lake")
            .arg(lake)
            .args(["answers", "--format", "json"]),
    );
    let answers: Answers = serde_json::from_slice(&json.stdout).unwrap();

    // Rendered by Chromium: no console message, and no resource fetched.
    let (dom, console, resources) = render(&browser, &page, out_dir);
    assert!(
        console.is_empty(),
        "console output:\n{}",
        console.join("\n")
    );
    assert_eq!(resources, "[]", "the page fetched resources");

    for id in ["q1", "q2", "q3", "q4", "lineage"] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "section {id} missing"
        );
    }
    assert!(dom.matches("<svg").count() >= 6, "expected 6 charts");

    // The same numbers as the JSON answers.
    let q1 = table_values(&dom, "q1-table");
    assert_eq!(q1.len(), answers.highest_rated.movies.len());
    for (row, m) in q1.iter().zip(&answers.highest_rated.movies) {
        assert_eq!(row[0], m.rank.to_string());
        assert_eq!(row[1], m.title);
        assert_eq!(num(&row[3]), m.n_ratings as f64);
        assert_eq!(num(&row[4]), m.mean_rating);
        assert_eq!(num(&row[5]), m.weighted_rating);
    }
    let q2 = table_values(&dom, "q2-table");
    assert_eq!(q2.len(), answers.genre_popularity.len());
    for (row, g) in q2.iter().zip(&answers.genre_popularity) {
        assert_eq!(row[0], g.genre);
        assert_eq!(num(&row[1]), g.n_ratings as f64);
        assert_eq!(num(&row[2]), g.n_users as f64);
        assert_eq!(num(&row[4]), g.mean_rating);
        assert_eq!(num(&row[5]), g.share_of_ratings);
    }
    let months = table_values(&dom, "q3-month-table");
    assert_eq!(months.len(), answers.box_office_by_month.len());
    for (row, m) in months.iter().zip(&answers.box_office_by_month) {
        assert_eq!(num(&row[0]), m.month as f64);
        assert_eq!(num(&row[1]), m.n_movies as f64);
        assert_eq!(num(&row[2]), m.total_revenue as f64);
        assert_eq!(num(&row[3]), m.mean_revenue);
        assert_eq!(num(&row[4]), m.median_revenue);
    }
    let quarters = table_values(&dom, "q3-quarter-table");
    for (row, q) in quarters.iter().zip(&answers.box_office_by_quarter) {
        assert_eq!(num(&row[0]), q.quarter as f64);
        assert_eq!(num(&row[3]), q.mean_revenue);
        assert_eq!(num(&row[4]), q.median_revenue);
    }
    let q4 = table_values(&dom, "q4-table");
    assert_eq!(q4.len(), answers.genre_earnings_real.genres.len());
    for (row, g) in q4.iter().zip(&answers.genre_earnings_real.genres) {
        assert_eq!(row[0], g.genre);
        assert_eq!(num(&row[2]), g.revenue_nominal as f64);
        assert_eq!(num(&row[3]), g.revenue_real);
    }
    assert!(dom.contains(&format!(
        "data-value=\"{}\"",
        answers.genre_earnings_real.cpi_base_month
    )));
    if let Some(top) = answers.highest_rated.movies.first() {
        assert!(dom.contains(&format!(
            "is the highest rated movie: weighted rating {:.3}",
            top.weighted_rating
        )));
    }
    assert!(!table_values(&dom, "lineage-inputs").is_empty());
    assert!(!table_values(&dom, "lineage-tables").is_empty());

    // A picture of it, light scheme, for people (and the README).
    if let Some(dir) = screenshot.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    headless(
        &browser,
        &page,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1100,7400",
            "--hide-scrollbars",
        ],
    );
    assert!(
        std::fs::metadata(screenshot)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false)
    );
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

#[test]
fn report_of_generated_data_renders_offline_with_the_json_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let out = run_ok(
        movielens()
            .arg("--lake")
            .arg(&lake)
            .arg("run")
            .env("MOVIELENS_GENERATE__SCALE", "0.002"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report written to"), "{stderr}");
    check_page(
        &lake,
        dir.path(),
        &target_dir().join("report-screenshot-generated.png"),
    );
}

#[test]
fn report_of_the_real_sample_renders_offline_with_the_json_numbers() {
    let Some(shared) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    run_ok(
        movielens()
            .arg("--lake")
            .arg(&lake)
            .arg("run")
            .arg("--input")
            .arg(shared.join("kaggle-sample"))
            .args(["--ratings", "ratings_small.csv", "--cpi"])
            .arg(shared.join("fred/CUSR0000SS62031.csv")),
    );
    check_page(
        &lake,
        dir.path(),
        &target_dir().join("report-screenshot.png"),
    );
}
