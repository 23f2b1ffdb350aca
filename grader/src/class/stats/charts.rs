//! The report's charts, drawn by plotters as SVG text for the page to inline (no file
//! beside it, no script). plotters escapes the text it draws; the labels are the
//! report's own numbers and the grades' lab ids.

use plotters::prelude::*;

use super::compute::{ClassStats, LabStats};

const SIZE: (u32, u32) = (560, 260);
const BAR: RGBColor = RGBColor(0x3b, 0x6e, 0xa8);
const CAPTION: (&str, u32) = ("sans-serif", 15);

/// How many graded submissions scored in each tenth of the maximum.
pub fn histogram(stats: &ClassStats) -> String {
    let counts: Vec<usize> = stats.histogram.iter().map(|b| b.count).collect();
    let labels: Vec<String> = stats
        .histogram
        .iter()
        .map(|b| format!("{}-{}%", b.from_percent, b.to_percent))
        .collect();
    bars(
        &counts.iter().map(|&c| c as f64).collect::<Vec<_>>(),
        &labels,
        "submissions by score (% of the maximum)",
        "submissions",
        counts.iter().max().copied().unwrap_or(0).max(1) as f64,
    )
}

/// Each lab's mean score, as a percentage of its maximum.
pub fn lab_means(labs: &[LabStats]) -> String {
    let means: Vec<f64> = labs
        .iter()
        .map(|lab| match (lab.score.mean, lab.max_score) {
            (Some(mean), max) if max > 0 => mean * 100.0 / f64::from(max),
            _ => 0.0,
        })
        .collect();
    let labels: Vec<String> = labs.iter().map(|l| short_lab(&l.id)).collect();
    bars(&means, &labels, "each lab's mean (% of its maximum)", "mean %", 100.0)
}

/// `lab03_spanning` as `lab03`: the axis has room for that much.
fn short_lab(id: &str) -> String {
    id.split('_').next().unwrap_or(id).chars().take(12).collect()
}

/// A bar per value, labelled below; an empty string when plotters fails (it writes
/// to memory, so it does not).
fn bars(values: &[f64], labels: &[String], caption: &str, y_desc: &str, y_max: f64) -> String {
    let mut svg = String::new();
    let drawn = draw(&mut svg, values, labels, caption, y_desc, y_max);
    if drawn.is_err() {
        return String::new();
    }
    svg
}

fn draw(
    svg: &mut String,
    values: &[f64],
    labels: &[String],
    caption: &str,
    y_desc: &str,
    y_max: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    // plotters' integer ranges are inclusive: 0..=last, a segment each.
    let last = values.len().saturating_sub(1) as u32;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, CAPTION)
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(40)
        .build_cartesian_2d((0u32..last).into_segmented(), 0f64..y_max * 1.05)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .y_desc(y_desc)
        .x_labels(values.len().max(1))
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        // Whole numbers only: at most one label per unit of a small count.
        .y_labels((y_max as usize + 1).min(11))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 11))
        .draw()?;
    // A rectangle per segment (plotters' Histogram series keeps its bars in a HashMap,
    // so their order in the SVG, and the file, would change from run to run).
    chart.draw_series(values.iter().enumerate().map(|(i, &v)| {
        let i = i as u32;
        let mut bar = Rectangle::new(
            [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), v)],
            BAR.filled(),
        );
        bar.set_margin(0, 0, 6, 6);
        bar
    }))?;
    root.present()?;
    Ok(())
}
