//! Line charts as inline SVG, rendered on the server from the sampled series (no JavaScript charting).

use maud::{html, Markup, PreEscaped};
use std::collections::BTreeMap;

const W: f64 = 1000.0;
const H: f64 = 200.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 22.0;
const COLORS: [&str; 8] = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
];

/// A chart of several named series of (unix time, value), with `unit` formatting the y axis.
pub fn line_chart(title: &str, series: &BTreeMap<String, Vec<(f64, f64)>>, unit: fn(f64) -> String) -> Markup {
    let points: Vec<&(f64, f64)> = series.values().flatten().collect();
    let (t0, t1) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), (t, _)| (a.min(*t), b.max(*t)));
    let ymax = points.iter().map(|(_, v)| *v).fold(0.0f64, f64::max);
    let ymax = nice_ceiling(ymax);
    let span = (t1 - t0).max(1.0);
    let x = |t: f64| LEFT + (t - t0) / span * (W - LEFT - 8.0);
    let y = |v: f64| 8.0 + (1.0 - v / ymax) * (H - BOTTOM - 8.0);
    let mut svg = String::new();
    svg.push_str(&format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    ));
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        let yy = y(v);
        svg.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{}\" y2=\"{yy:.1}\" stroke=\"#e5e7eb\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#6b7280\">{}</text>",
            W - 8.0,
            LEFT - 4.0,
            yy + 3.0,
            escape(&unit(v))
        ));
    }
    if points.is_empty() {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#6b7280\">no samples yet</text>",
            W / 2.0,
            H / 2.0
        ));
    } else {
        svg.push_str(&format!(
            "<text x=\"{LEFT}\" y=\"{}\" font-size=\"10\" fill=\"#6b7280\">-{:.0} s</text>\
             <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"#6b7280\">now</text>",
            H - 6.0,
            span,
            W - 8.0,
            H - 6.0
        ));
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        if pts.is_empty() {
            continue;
        }
        let path: Vec<String> = pts.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
        // The series' name on its line, so that a reader (or a test) can tell which line is which.
        svg.push_str(&format!(
            "<polyline data-series=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            escape(name),
            COLORS[i % COLORS.len()],
            path.join(" ")
        ));
    }
    svg.push_str("</svg>");
    html! {
        figure.chart {
            figcaption { (title) }
            (PreEscaped(svg))
            ul.legend {
                @for (i, (name, pts)) in series.iter().enumerate() {
                    li {
                        span.swatch style=(format!("background:{}", COLORS[i % COLORS.len()])) {}
                        (name) ": "
                        @match pts.last() {
                            Some((_, v)) => (unit(*v)),
                            None => "unreachable",
                        }
                    }
                }
            }
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The smallest of 1, 2, 5 × 10^n at or above `v` (at least 1).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

pub fn per_second(v: f64) -> String {
    format!("{v:.1}/s")
}

pub fn seconds(v: f64) -> String {
    if v > 0.0 && v < 1.0 {
        format!("{v:.2} s")
    } else {
        format!("{v:.1} s")
    }
}

pub fn bytes_per_second(v: f64) -> String {
    format!("{}/s", crate::pages::human_bytes(v as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_round() {
        assert_eq!(nice_ceiling(0.2), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(120.0), 200.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
    }

    #[test]
    fn charts_draw_one_line_per_series() {
        let mut s = BTreeMap::new();
        s.insert("a".to_string(), vec![(0.0, 1.0), (1.0, 2.0)]);
        s.insert("b<".to_string(), vec![(0.0, 3.0)]);
        let out = line_chart("t", &s, per_second).into_string();
        assert_eq!(out.matches("<polyline").count(), 2);
        assert!(out.contains("<polyline data-series=\"a\""));
        assert!(out.contains("<polyline data-series=\"b&lt;\""));
    }
}
