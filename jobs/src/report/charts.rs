//! The report's charts: SVG drawn by `plotters`, inlined into the page.
//!
//! Axis text and lines are drawn in `currentColor`, so a chart follows the
//! page's light or dark colours; bars use two colours readable on both.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// First and second series colours (Tableau blue and orange).
const FIRST: RGBColor = RGBColor(0x4e, 0x79, 0xa7);
const SECOND: RGBColor = RGBColor(0xf2, 0x8e, 0x2b);

/// A chart: its title, axis descriptions and bars.
pub struct Bars<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub labels: Vec<String>,
    /// One or two series: (legend name, one value per label).
    pub series: Vec<(&'a str, Vec<f64>)>,
    /// How values are written on the y axis.
    pub y_format: fn(f64) -> String,
}

/// Draws `bars` as an SVG string (grouped bars when there are two series).
pub fn bar_chart(bars: &Bars) -> Result<String, String> {
    let mut svg = String::new();
    draw(bars, &mut svg).map_err(|e| format!("drawing chart {:?}: {e}", bars.title))?;
    // Plotters writes black for text and axes; let the page choose.
    Ok(svg.replace("#000000", "currentColor"))
}

fn draw(bars: &Bars, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    // Short labels (months, ranks) go under columns; long ones (genres) are
    // easier to read beside horizontal bars.
    if bars.labels.iter().any(|l| l.chars().count() > 3) {
        draw_rows(bars, svg)
    } else {
        draw_columns(bars, svg)
    }
}

/// The top of the value axis: a little above the largest value.
fn value_top(bars: &Bars) -> f64 {
    let max = bars
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max);
    if max > 0.0 { max * 1.08 } else { 1.0 }
}

/// Where bar `i` of series `k` sits in its label's segment: one series fills
/// it, two share it side by side.
fn span(i: usize, k: usize, two: bool) -> (SegmentValue<usize>, SegmentValue<usize>) {
    match (two, k) {
        (false, _) => (SegmentValue::Exact(i), SegmentValue::Exact(i + 1)),
        (true, 0) => (SegmentValue::Exact(i), SegmentValue::CenterOf(i)),
        (true, _) => (SegmentValue::CenterOf(i), SegmentValue::Exact(i + 1)),
    }
}

fn colour(k: usize) -> RGBColor {
    if k == 0 { FIRST } else { SECOND }
}

/// Draws every series as bars, `place` giving a bar's corners from its label
/// index, series index and value, with `margins` (top, bottom, left, right)
/// in pixels; two series get a legend at `position`.
fn draw_bars<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    bars: &Bars,
    position: SeriesLabelPosition,
    margins: (u32, u32, u32, u32),
    place: impl Fn(usize, usize, f64) -> [CT::From; 2],
) -> Result<(), Box<dyn std::error::Error>>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    let two = bars.series.len() > 1;
    for (k, (name, values)) in bars.series.iter().enumerate() {
        let c = colour(k);
        let drawn = chart.draw_series(values.iter().enumerate().map(|(i, v)| {
            let [from, to] = place(i, k, *v);
            let mut bar = Rectangle::new([from, to], c.filled());
            bar.set_margin(margins.0, margins.1, margins.2, margins.3);
            bar
        }))?;
        if two {
            drawn
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
    }
    if two {
        chart
            .configure_series_labels()
            .position(position)
            .background_style(TRANSPARENT)
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    Ok(())
}

fn draw_columns(bars: &Bars, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let n = bars.labels.len().max(1);
    let root = SVGBackend::with_string(svg, (760, 340)).into_drawing_area();
    let mut chart = ChartBuilder::on(&root)
        .caption(bars.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(78)
        // A segmented range 0..k has k + 1 segments.
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..value_top(bars))?;
    let labels = &bars.labels;
    let y_format = bars.y_format;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0x99, 0x99, 0x99).mix(0.35))
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_style(("sans-serif", 12))
        .y_label_formatter(&|y| y_format(*y))
        .x_desc(bars.x_desc)
        .y_desc(bars.y_desc)
        .axis_desc_style(("sans-serif", 13))
        .draw()?;
    let two = bars.series.len() > 1;
    draw_bars(
        &mut chart,
        bars,
        SeriesLabelPosition::UpperRight,
        (0, 0, 3, 3),
        |i, k, v| {
            let (left, right) = span(i, k, two);
            [(left, 0.0), (right, v)]
        },
    )?;
    root.present()?;
    Ok(())
}

fn draw_rows(bars: &Bars, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let n = bars.labels.len().max(1);
    let height = (70 + 24 * n as u32).max(200);
    let root = SVGBackend::with_string(svg, (760, height)).into_drawing_area();
    let mut chart = ChartBuilder::on(&root)
        .caption(bars.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(124)
        .build_cartesian_2d(0.0..value_top(bars), (0..n - 1).into_segmented())?;
    // Segment 0 is at the bottom; the first label belongs at the top.
    let row = |i: usize| n - 1 - i;
    let labels = &bars.labels;
    let x_format = bars.y_format;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0x99, 0x99, 0x99).mix(0.35))
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(row(*i)).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_style(("sans-serif", 12))
        .x_label_formatter(&|x| x_format(*x))
        .x_desc(bars.y_desc)
        .y_desc(bars.x_desc)
        .axis_desc_style(("sans-serif", 13))
        .draw()?;
    let two = bars.series.len() > 1;
    draw_bars(
        &mut chart,
        bars,
        SeriesLabelPosition::LowerRight,
        (2, 2, 0, 0),
        |i, k, v| {
            // In a row, the first series sits above the second.
            let (low, high) = span(row(i), 1 - k.min(1), two);
            [(0.0, low), (v, high)]
        },
    )?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_labelled_svg_in_current_colour() {
        let svg = bar_chart(&Bars {
            title: "Ratings by genre",
            x_desc: "genre",
            y_desc: "ratings",
            labels: vec!["Drama".into(), "Comedy".into()],
            series: vec![("nominal", vec![10.0, 5.0]), ("real", vec![12.0, 6.0])],
            y_format: |v| format!("{v:.0}"),
        })
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        for text in [
            "Ratings by genre",
            "Drama",
            "Comedy",
            "genre",
            "ratings",
            "nominal",
            "real",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(svg.contains("currentColor") && !svg.contains("#000000"));
        assert!(svg.contains("#4E79A7") || svg.contains("#4e79a7"));
    }
}
