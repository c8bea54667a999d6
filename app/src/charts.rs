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
    bar_rows(title, x_desc, rows, parts, false)
}

/// Horizontal bars with each row's parts side by side (named in the legend), in the
/// rows' order: for values that do not add up, such as outbound and return fares.
pub fn grouped_bar_chart(
    title: &str,
    x_desc: &str,
    rows: &[StackedRow],
    parts: &[(String, RGBColor)],
) -> Chart {
    bar_rows(title, x_desc, rows, parts, true)
}

fn bar_rows(
    title: &str,
    x_desc: &str,
    rows: &[StackedRow],
    parts: &[(String, RGBColor)],
    grouped: bool,
) -> Chart {
    let mut svg = String::new();
    let mut hotspots = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let n = rows.len().max(2) as u32;
        let length = |r: &StackedRow| {
            if grouped {
                r.parts.iter().copied().fold(0.0, f64::max)
            } else {
                r.parts.iter().sum::<f64>()
            }
        };
        let max = rows.iter().map(length).fold(0.0, f64::max).max(1.0) * 1.12;
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
            // In a grouped chart each part takes its own slice of the row's height.
            let row_px = {
                let (_, a) = chart.backend_coord(&(0.0, SegmentValue::Exact(0)));
                let (_, b) = chart.backend_coord(&(0.0, SegmentValue::Exact(1)));
                (a - b).unsigned_abs().saturating_sub(6)
            };
            let k = parts.len().max(1) as u32;
            for (p, (name, colour)) in parts.iter().enumerate() {
                let colour = *colour;
                let p32 = p as u32;
                let (top, bottom) = if grouped {
                    (3 + p32 * row_px / k, 3 + (k - 1 - p32) * row_px / k)
                } else {
                    (3, 3)
                };
                let rects: Vec<Rectangle<(f64, SegmentValue<u32>)>> = rows
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        let value = *r.parts.get(p)?;
                        (value > 0.0).then(|| {
                            let lo: f64 = if grouped {
                                0.0
                            } else {
                                r.parts.iter().take(p).sum()
                            };
                            let mut rect = Rectangle::new(
                                [
                                    (lo, SegmentValue::Exact(row(i))),
                                    (lo + value, SegmentValue::Exact(row(i) + 1)),
                                ],
                                colour.filled(),
                            );
                            rect.set_margin(top, bottom, 0, 0);
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
                        label: if grouped {
                            let values: Vec<String> = r
                                .parts
                                .iter()
                                .zip(parts)
                                .map(|(v, (name, _))| format!("{name} {}", short_number(*v)))
                                .collect();
                            format!("{}: {}", r.label, values.join(", "))
                        } else {
                            format!("{}: {}", r.label, short_number(length(r)))
                        },
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
                // At least one label: asked for none, plotters looks for them for ever.
                .x_labels(periods.len().clamp(1, 60))
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

/// One value per day as a filled area: the days are `YYYY-MM-DD`, in order, one apart
/// or with gaps (a gap is drawn as zero).
pub fn daily_area(title: &str, y_desc: &str, days: &[(String, f64)]) -> Chart {
    let parse = |d: &str| day_number(d);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let first = days.first().and_then(|(d, _)| parse(d));
        let last = days.last().and_then(|(d, _)| parse(d));
        let (first, span) = match (first, last) {
            (Some(a), Some(b)) if b > a => (Some(a), (b - a) as i32),
            (a, _) => (a, 1),
        };
        let offset = |d: &str| first.zip(parse(d)).map(|(a, b)| (b - a) as i32);
        let max = days.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0) * 1.1;
        let label_of = |x: &i32| {
            first
                .map(|a| day_text(a + i64::from(*x)))
                .unwrap_or_default()
        };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0i32..span, 0f64..max)
        {
            let _ = chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(6)
                .x_label_formatter(&label_of)
                .y_label_formatter(&|v| short_number(*v))
                .y_desc(y_desc)
                .axis_desc_style(("sans-serif", 13))
                .label_style(("sans-serif", 11))
                .draw();
            // Every day of the span, so a day without visitors drops to zero.
            let mut values = vec![0.0; span as usize + 1];
            for (d, v) in days {
                if let Some(i) = offset(d).filter(|i| *i >= 0 && *i <= span) {
                    values[i as usize] = *v;
                }
            }
            let _ = chart.draw_series(
                AreaSeries::new(
                    values.iter().enumerate().map(|(i, v)| (i as i32, *v)),
                    0.0,
                    BAR_COLOUR.mix(0.35),
                )
                .border_style(BAR_COLOUR.stroke_width(1)),
            );
        }
        let _ = root.present();
    }
    Chart {
        svg: responsive(svg),
        hotspots: Vec::new(),
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (the charts also run in the browser,
/// without a date library): Howard Hinnant's days_from_civil.
fn day_number(d: &str) -> Option<i64> {
    let mut it = d.get(..10)?.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let day: i64 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The Monday that starts the week of a `YYYY-MM-DD` date.
pub fn monday_of(d: &str) -> Option<String> {
    let n = day_number(d)?;
    // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
    Some(day_text(n - (n + 3).rem_euclid(7)))
}

/// The `YYYY-MM-DD` text of a day number (civil_from_days).
fn day_text(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
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

    /// Every chart draws, and finishes, with nothing to show (a filter that matches no
    /// event): an empty timeline once kept the dashboard page loading for ever.
    #[test]
    fn charts_of_nothing_finish() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let charts = [
                bar_chart("t", "x", &[]),
                stacked_bar_chart("t", "x", &[], &[]),
                grouped_bar_chart("t", "x", &[], &[]),
                stacked_timeline("t", "y", &[], &[], &|c| c.to_string()),
                daily_area("t", "y", &[]),
                scatter("t", "x", "y", &[]),
            ];
            let _ = done.send(charts.iter().all(|c| c.svg.starts_with("<svg")));
        });
        let drawn = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a chart of nothing did not finish within 20 s");
        assert!(drawn);
    }

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
    fn day_numbers_round_trip_across_leap_years() {
        assert_eq!(day_number("1970-01-01"), Some(0));
        assert_eq!(
            day_number("2028-03-01")
                .zip(day_number("2028-02-28"))
                .map(|(a, b)| a - b),
            Some(2)
        );
        for d in ["2026-11-26", "2028-02-29", "2000-12-31", "2027-01-01"] {
            assert_eq!(day_text(day_number(d).unwrap()), d);
        }
        assert_eq!(day_number("2026-13-01"), None);
        assert_eq!(monday_of("2026-11-26").as_deref(), Some("2026-11-23"));
        assert_eq!(monday_of("2026-11-23").as_deref(), Some("2026-11-23"));
        assert_eq!(monday_of("2027-01-03").as_deref(), Some("2026-12-28"));
    }

    #[test]
    fn visitors_area_and_grouped_bars_draw() {
        let days = vec![
            ("2027-01-30".to_string(), 1200.0),
            ("2027-02-02".to_string(), 300.0),
        ];
        let c = daily_area("Visitors", "visitors", &days);
        assert!(c.svg.contains("2027-01-30"), "first day labelled");
        assert!(
            c.svg.contains("<polygon") || c.svg.contains("<path"),
            "area drawn"
        );
        let rows = vec![StackedRow {
            label: "Japan".into(),
            href: Some("/x".into()),
            parts: vec![420.0, 380.0],
        }];
        let parts = [
            ("outbound".to_string(), RGBColor(0, 0, 0)),
            ("return".to_string(), RGBColor(9, 9, 9)),
        ];
        let g = grouped_bar_chart("Fares", "USD", &rows, &parts);
        assert_eq!(g.hotspots.len(), 1);
        assert_eq!(g.hotspots[0].label, "Japan: outbound 420, return 380");
        // Side by side, the two bars start at the same x; stacked, the second starts where
        // the first ends.
        let starts = |svg: &str| -> Vec<String> {
            svg.split("<rect")
                .skip(1)
                .filter_map(|r| r.split('>').next())
                .filter(|r| r.contains("fill=\"#000000\"") || r.contains("fill=\"#090909\""))
                .filter_map(|r| {
                    let attr = |name: &str| -> Option<String> {
                        Some(
                            r.split(&format!(" {name}=\""))
                                .nth(1)?
                                .split('"')
                                .next()?
                                .to_string(),
                        )
                    };
                    // Bars, not the legend's 10-unit boxes.
                    let tall = attr("height")?.parse::<f64>().ok()? > 12.0;
                    tall.then(|| attr("x")).flatten()
                })
                .collect()
        };
        let side = starts(&g.svg);
        assert_eq!(side.len(), 2, "{side:?}");
        assert_eq!(side[0], side[1]);
        let stacked = starts(&stacked_bar_chart("Fares", "USD", &rows, &parts).svg);
        assert_eq!(stacked.len(), 2, "{stacked:?}");
        assert_ne!(stacked[0], stacked[1]);
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(950.0), "950");
        assert_eq!(short_number(1234.0), "1.2k");
        assert_eq!(short_number(25_000.0), "25k");
        assert_eq!(short_number(2_500_000.0), "2.5M");
    }
}
