//! `timeline.png`: the run at a glance. The top panel plots each ok client
//! operation's latency (log scale) at the time it completed; the bottom
//! one, each region's share of ok completions per second. Fault windows
//! are shaded in both, and labelled in the top one.
//!
//! Text needs a font, and the bitmap backend has none of its own: DejaVu
//! Sans is loaded from the system once. Where it is missing the chart is
//! drawn without any text rather than not at all.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::ReportError;
use super::series::Series;

const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (1400, 900);
const FAULT_SHADE: RGBColor = RGBColor(230, 80, 60);

/// Registers the system font on first use; answers whether text can be
/// drawn.
pub fn font_loaded() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        let Ok(bytes) = std::fs::read(FONT_PATH) else {
            return false;
        };
        // Registered fonts live for the whole process, which is what leaking
        // one copy of the file gives.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font(FONT, FontStyle::Normal, bytes).is_ok()
    })
}

/// Draws the timeline of `series` into a PNG at `path`; `with_text` says
/// whether a font is available for captions, labels and the legend.
pub fn draw(path: &Path, series: &Series, with_text: bool) -> Result<(), ReportError> {
    render(path, series, with_text).map_err(|e| ReportError::Chart(e.to_string()))
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn render(path: &Path, series: &Series, with_text: bool) -> DrawResult {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(SIZE.1 * 3 / 5);
    let x_end = series.duration_s.max(1.0);
    latency_panel(&upper, series, x_end, with_text)?;
    availability_panel(&lower, series, x_end, with_text)?;
    root.present()?;
    Ok(())
}

fn latency_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    series: &Series,
    x_end: f64,
    with_text: bool,
) -> DrawResult {
    let top = series
        .latencies
        .values()
        .flatten()
        .map(|(_, ms)| *ms)
        .fold(1.0f64, f64::max)
        * 2.0;
    let floor = series
        .latencies
        .values()
        .flatten()
        .map(|(_, ms)| *ms)
        .fold(top, f64::min)
        .max(0.01)
        / 2.0;
    let mut builder = ChartBuilder::on(area);
    builder.margin(12);
    if with_text {
        builder
            .caption("latency of ok operations (ms)", (FONT, 22))
            .x_label_area_size(30)
            .y_label_area_size(60);
    }
    let mut chart = builder.build_cartesian_2d(0.0..x_end, (floor..top).log_scale())?;
    let mut mesh = chart.configure_mesh();
    if with_text {
        mesh.x_desc("seconds").y_desc("ms").label_style((FONT, 13));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    chart.draw_series(series.faults.iter().map(|f| {
        Rectangle::new(
            [(f.start_s, floor), (f.end_s, top)],
            FAULT_SHADE.mix(0.15).filled(),
        )
    }))?;
    for (i, (f, points)) in series.latencies.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let drawn = chart.draw_series(
            points
                .iter()
                .map(|&(x, ms)| Circle::new((x, ms.max(floor)), 2, color.filled())),
        )?;
        if with_text {
            drawn
                .label(super::f_name(*f))
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
    }
    if with_text {
        chart.draw_series(
            series
                .faults
                .iter()
                .enumerate()
                // Three staggered rows keep neighbouring labels apart.
                .map(|(i, f)| {
                    let y = top / 1.5f64.powi(1 + (i % 3) as i32);
                    Text::new(f.label.clone(), (f.start_s, y), (FONT, 13))
                }),
        )?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FONT, 13))
            .draw()?;
    }
    Ok(())
}

fn availability_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    series: &Series,
    x_end: f64,
    with_text: bool,
) -> DrawResult {
    let mut builder = ChartBuilder::on(area);
    builder.margin(12);
    if with_text {
        builder
            .caption("ok share of completions per second, by region", (FONT, 22))
            .x_label_area_size(30)
            .y_label_area_size(60);
    }
    let mut chart = builder.build_cartesian_2d(0.0..x_end, -0.05..1.05)?;
    let mut mesh = chart.configure_mesh();
    if with_text {
        mesh.x_desc("seconds")
            .y_desc("ok share")
            .label_style((FONT, 13));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    chart.draw_series(series.faults.iter().map(|f| {
        Rectangle::new(
            [(f.start_s, -0.05), (f.end_s, 1.05)],
            FAULT_SHADE.mix(0.15).filled(),
        )
    }))?;
    for (i, (region, points)) in series.availability.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let drawn = chart.draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))?;
        if with_text {
            drawn.label(region.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        }
    }
    if with_text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FONT, 13))
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::series::FaultWindow;
    use super::*;
    use crate::history::F;

    fn series() -> Series {
        let mut series = Series {
            duration_s: 12.0,
            ..Series::default()
        };
        series
            .latencies
            .insert(F::Send, vec![(0.5, 3.0), (4.0, 900.0), (11.0, 0.01)]);
        series.latencies.insert(F::Read, vec![(1.0, 12.0)]);
        series
            .availability
            .insert("r1".to_owned(), vec![(0.5, 1.0), (1.5, 0.0), (2.5, 0.5)]);
        series.faults.push(FaultWindow {
            start_s: 1.0,
            end_s: 3.0,
            label: "partition r1".to_owned(),
        });
        series
    }

    fn is_png(path: &Path) -> bool {
        std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\x89PNG\r\n\x1a\n"))
    }

    #[test]
    fn draws_with_text_when_the_font_exists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("timeline.png");
        draw(&path, &series(), font_loaded()).expect("draw");
        assert!(is_png(&path));
    }

    #[test]
    fn draws_without_any_text() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("timeline.png");
        draw(&path, &series(), false).expect("draw");
        assert!(is_png(&path));
    }

    #[test]
    fn an_empty_history_still_draws() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("timeline.png");
        draw(&path, &Series::default(), false).expect("draw");
        assert!(is_png(&path));
    }
}
