//! Charts drawn with plotters into SVG text: the server draws them into the first page, the
//! browser redraws them from the same code after a filter change. Each chart comes with
//! "hotspots", the pixel boxes of its bars or points, which the page lays over the SVG as
//! links (a country bar filters by that country, a point opens its event).

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// Chart size in SVG units; the page scales the SVG to its column.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 340;

/// A box over a chart that links somewhere, in SVG units.
#[derive(Clone, Debug, PartialEq)]
pub struct Hotspot {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub href: String,
    pub label: String,
}

/// A drawn chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub svg: String,
    pub hotspots: Vec<Hotspot>,
}

/// One bar: its label, its value, and where clicking it goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub href: Option<String>,
}

/// The Okabe–Ito palette, distinguishable with colour-blindness; the map uses the same
/// colour for each category.
pub fn category_colour(category: &str) -> RGBColor {
    match category {
        "concerts" => RGBColor(0xE6, 0x9F, 0x00),
        "festivals" => RGBColor(0xD5, 0x5E, 0x00),
        "expos" => RGBColor(0x00, 0x72, 0xB2),
        "sports" => RGBColor(0x00, 0x9E, 0x73),
        "conferences" => RGBColor(0xCC, 0x79, 0xA7),
        "performing-arts" => RGBColor(0x56, 0xB4, 0xE9),
        _ => RGBColor(0x44, 0x44, 0x44),
    }
}

const BAR_COLOUR: RGBColor = RGBColor(0x0B, 0x5D, 0x7A);

/// 1234 → "1.2k", 2_500_000 → "2.5M": axis labels stay short.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Makes the SVG scale with its box (plotters writes a fixed width and height).
fn responsive(svg: String) -> String {
    svg.replacen(
        &format!("width=\"{WIDTH}\" height=\"{HEIGHT}\""),
        "width=\"100%\" preserveAspectRatio=\"xMidYMid meet\"",
        1,
    )
}

// A segmented range `0..m` has the m + 1 segments 0 to m, so n bars take `0..n - 1`.

/// Horizontal bars, the largest at the top: room for long labels on a phone.
pub fn bar_chart(title: &str, x_desc: &str, bars: &[Bar]) -> Chart {
    let rows: Vec<StackedRow> = bars
        .iter()
        .map(|b| StackedRow {
            label: b.label.clone(),
            href: b.href.clone(),
            parts: vec![b.value],
        })
        .collect();
    stacked_bar_chart(title, x_desc, &rows, &[(String::new(), BAR_COLOUR)])
}

/// A label cut to fit the label column.
fn fit_label(l: &str) -> String {
    if l.chars().count() > 22 {
        format!("{}…", l.chars().take(21).collect::<String>())
    } else {
        l.to_string()
    }
}

/// One row of stacked horizontal bars: its label, where clicking it goes, and its parts.
#[derive(Clone, Debug, PartialEq)]
pub struct StackedRow {
    pub label: String,
    pub href: Option<String>,
    pub parts: Vec<f64>,
}

/// Horizontal bars split into coloured parts (named in the legend), the largest row on top.
pub fn stacked_bar_chart(
    title: &str,
    x_desc: &str,
    rows: &[StackedRow],
    parts: &[(String, RGBColor)],
) -> Chart {
    let mut svg = String::new();
    let mut hotspots = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let n = rows.len().max(2) as u32;
        let max = rows
            .iter()
            .map(|r| r.parts.iter().sum::<f64>())
            .fold(0.0, f64::max)
            .max(1.0)
            * 1.12;
        let row = |i: usize| n - 1 - i as u32;
        let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
        let label_of = move |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(r) if *r < n => labels
                .get((n - 1 - r) as usize)
                .map(|l| fit_label(l))
                .unwrap_or_default(),
            _ => String::new(),
        };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(150)
            .build_cartesian_2d(0f64..max, (0u32..n - 1).into_segmented())
        {
            let _ = chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n as usize)
                .y_label_formatter(&label_of)
                .x_label_formatter(&|v| short_number(*v))
                .x_desc(x_desc)
                .axis_desc_style(("sans-serif", 13))
                .label_style(("sans-serif", 12))
                .draw();
            for (p, (name, colour)) in parts.iter().enumerate() {
                let colour = *colour;
                let rects: Vec<Rectangle<(f64, SegmentValue<u32>)>> = rows
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        let value = *r.parts.get(p)?;
                        (value > 0.0).then(|| {
                            let lo: f64 = r.parts.iter().take(p).sum();
                            let mut rect = Rectangle::new(
                                [
                                    (lo, SegmentValue::Exact(row(i))),
                                    (lo + value, SegmentValue::Exact(row(i) + 1)),
                                ],
                                colour.filled(),
                            );
                            rect.set_margin(3, 3, 0, 0);
                            rect
                        })
                    })
                    .collect();
                if let Ok(anno) = chart.draw_series(rects) {
                    if !name.is_empty() {
                        anno.label(name.clone()).legend(move |(x, y)| {
                            Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                        });
                    }
                }
            }
            // A legend only when the bars have named parts.
            if parts.iter().any(|(name, _)| !name.is_empty()) {
                let _ = chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.3))
                    .label_font(("sans-serif", 11))
                    .draw();
            }
            for (i, r) in rows.iter().enumerate() {
                if let Some(href) = &r.href {
                    let (x0, y0) = chart.backend_coord(&(0.0, SegmentValue::Exact(row(i) + 1)));
                    let (x1, y1) = chart.backend_coord(&(max, SegmentValue::Exact(row(i))));
                    hotspots.push(Hotspot {
                        x: x0,
                        y: y0,
                        w: x1 - x0,
                        h: y1 - y0,
                        href: href.clone(),
                        label: format!(
                            "{}: {}",
                            r.label,
                            short_number(r.parts.iter().sum::<f64>())
                        ),
                    });
                }
            }
        }
        let _ = root.present();
    }
    Chart {
        svg: responsive(svg),
        hotspots,
    }
}

/// Events per period, stacked by category, with a legend.
pub fn stacked_timeline(
    title: &str,
    y_desc: &str,
    periods: &[String],
    series: &[(String, Vec<f64>)],
    legend: &dyn Fn(&str) -> String,
) -> Chart {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        // At least two columns: plotters cannot draw a one-segment axis.
        let n = periods.len().max(2) as u32;
        let totals: Vec<f64> = (0..periods.len())
            .map(|i| {
                series
                    .iter()
                    .map(|(_, v)| v.get(i).copied().unwrap_or(0.0))
                    .sum()
            })
            .collect();
        // Headroom for the legend in the upper right.
        let max = totals.iter().copied().fold(0.0, f64::max).max(1.0) * 1.45;
        let step = (periods.len() / 8).max(1);
        let label_of = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) if (*i as usize).is_multiple_of(step) => {
                periods.get(*i as usize).cloned().unwrap_or_default()
            }
            _ => String::new(),
        };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((0u32..n - 1).into_segmented(), 0f64..max)
        {
            let _ = chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(periods.len().min(60))
                .x_label_formatter(&label_of)
                .y_label_formatter(&|v| short_number(*v))
                .y_desc(y_desc)
                .axis_desc_style(("sans-serif", 13))
                .label_style(("sans-serif", 11))
                .draw();
            let mut base = vec![0.0; periods.len()];
            for (category, values) in series {
                let colour = category_colour(category);
                let rects: Vec<Rectangle<(SegmentValue<u32>, f64)>> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(i, v)| {
                        let (lo, hi) = (base[i], base[i] + v);
                        base[i] = hi;
                        let mut r = Rectangle::new(
                            [
                                (SegmentValue::Exact(i as u32), lo),
                                (SegmentValue::Exact(i as u32 + 1), hi),
                            ],
                            colour.filled(),
                        );
                        r.set_margin(0, 0, 1, 1);
                        r
                    })
                    .collect();
                if let Ok(anno) = chart.draw_series(rects) {
                    anno.label(legend(category)).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                    });
                }
            }
            let _ = chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 11))
                .draw();
        }
        let _ = root.present();
    }
    Chart {
        svg: responsive(svg),
        hotspots: Vec::new(),
    }
}

/// A point of the scatter: rank, attendance, category, link and label.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub category: String,
    pub href: String,
    pub label: String,
}

/// Rank (x, 0–100) against attendance (y, logarithmic); each point links to its event.
pub fn scatter(title: &str, x_desc: &str, y_desc: &str, points: &[Point]) -> Chart {
    let mut svg = String::new();
    let mut hotspots = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max = points.iter().map(|p| p.y).fold(10.0, f64::max) * 1.5;
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..100f64, (1f64..max).log_scale())
        {
            let _ = chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .y_label_formatter(&|v| short_number(*v))
                .axis_desc_style(("sans-serif", 13))
                .label_style(("sans-serif", 11))
                .draw();
            let _ = chart.draw_series(points.iter().map(|p| {
                Circle::new(
                    (p.x, p.y.max(1.0)),
                    3,
                    category_colour(&p.category).mix(0.8).filled(),
                )
            }));
            // Links for the first (highest ranked) points only: enough to explore, few
            // enough for the page.
            for p in points.iter().take(400) {
                let (x, y) = chart.backend_coord(&(p.x, p.y.max(1.0)));
                hotspots.push(Hotspot {
                    x: x - 4,
                    y: y - 4,
                    w: 8,
                    h: 8,
                    href: p.href.clone(),
                    label: p.label.clone(),
                });
            }
        }
        let _ = root.present();
    }
    Chart {
        svg: responsive(svg),
        hotspots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_draw_escaped_labels_and_hotspots_inside_the_chart() {
        let bars = vec![
            Bar {
                label: "<script>x</script>".into(),
                value: 12.0,
                href: Some("?country=KR".into()),
            },
            Bar {
                label: "Japan".into(),
                value: 3.0,
                href: Some("?country=JP".into()),
            },
        ];
        let c = bar_chart("Top countries", "events", &bars);
        assert!(c.svg.starts_with("<svg"));
        assert!(!c.svg.contains("<script>"), "labels are escaped");
        assert!(c.svg.contains("&lt;script&gt;"));
        assert!(c.svg.contains("width=\"100%\""));
        assert_eq!(c.hotspots.len(), 2);
        let (a, b) = (&c.hotspots[0], &c.hotspots[1]);
        assert!(a.y < b.y, "the first bar is on top");
        for h in &c.hotspots {
            assert!(h.w > 100 && h.h > 5, "{h:?}");
            assert!(h.x >= 0 && h.x + h.w <= WIDTH as i32 && h.y + h.h <= HEIGHT as i32);
        }
    }

    #[test]
    fn one_bar_is_drawn_too() {
        let bars = vec![Bar {
            label: "Japan".into(),
            value: 17.0,
            href: Some("?country=JP".into()),
        }];
        let c = bar_chart("Top countries", "events", &bars);
        assert_eq!(c.hotspots.len(), 1);
        assert!(c.hotspots[0].h > 20, "{:?}", c.hotspots[0]);
        // The bar itself: a filled rectangle in the bar colour.
        assert!(c.svg.contains("fill=\"#0B5D7A\""), "bar drawn");
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(950.0), "950");
        assert_eq!(short_number(1234.0), "1.2k");
        assert_eq!(short_number(25_000.0), "25k");
        assert_eq!(short_number(2_500_000.0), "2.5M");
    }
}
