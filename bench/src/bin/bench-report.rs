//! Turns `bench/run`'s measurements into the published figures.
//!
//! ```text
//! bench-report target/bench
//! ```
//!
//! Reads `results.jsonl` (one line per wrk run), takes the median of each
//! contender and path, and writes `summary.json`, `summary.md` (with every
//! websession figure as a ratio to the bare framework and to the closest
//! peer) and `chart.svg`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use plotters::prelude::*;

#[derive(serde::Deserialize)]
struct Raw {
    name: String,
    framework: String,
    mode: String,
    path: String,
    req_per_s: f64,
    p99: String,
}

#[derive(serde::Serialize, Clone)]
struct Row {
    name: String,
    framework: String,
    mode: String,
    path: String,
    req_per_s: f64,
    p99_ms: f64,
}

/// wrk's latency text (`812.00us`, `1.52ms`, `2.01s`) in milliseconds.
fn ms(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().unwrap_or(0.0);
    match unit {
        "us" => n / 1000.0,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => n,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn label(r: &Row) -> String {
    format!("{} {} {}", r.name, r.framework, r.mode)
}

/// (name, framework, mode, path) -> (req/s samples, p99 samples in ms).
type Groups = BTreeMap<(String, String, String, String), (Vec<f64>, Vec<f64>)>;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench".into()),
    );
    let text =
        std::fs::read_to_string(dir.join("results.jsonl")).context("reading results.jsonl")?;
    let mut groups = Groups::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let r: Raw = serde_json::from_str(line).with_context(|| format!("bad line {line}"))?;
        let g = groups
            .entry((r.name, r.framework, r.mode, r.path))
            .or_default();
        g.0.push(r.req_per_s);
        g.1.push(ms(&r.p99));
    }
    let rows: Vec<Row> = groups
        .into_iter()
        .map(|((name, framework, mode, path), (rps, p99))| Row {
            name,
            framework,
            mode,
            path,
            req_per_s: median(rps),
            p99_ms: median(p99),
        })
        .collect();
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&rows)?,
    )?;

    let find = |name: &str, framework: &str, path: &str| {
        rows.iter()
            .find(|r| r.name == name && r.framework == framework && r.path == path)
            .map(|r| r.req_per_s)
    };
    let mut md = String::new();
    for path in ["GET /", "POST /petname"] {
        let _ = writeln!(md, "\n### `{path}`\n");
        let _ = writeln!(
            md,
            "| contender | framework | mode | req/s | p99 | vs bare | vs closest peer | vs Flask |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
        let flask = find("flask", "flask", path);
        let mut list: Vec<&Row> = rows.iter().filter(|r| r.path == path).collect();
        list.sort_by(|a, b| b.req_per_s.total_cmp(&a.req_per_s));
        for r in list {
            let bare = (r.framework != "flask")
                .then(|| find("bare", &r.framework, path))
                .flatten();
            let ratio = |base: Option<f64>| {
                base.filter(|b| *b > 0.0)
                    .map_or("".into(), |b| format!("{:.2}x", r.req_per_s / b))
            };
            let peer = if r.name == "websession" {
                // Same framework and mode if a peer has it, else the fastest peer on that framework.
                let peers: Vec<&Row> = rows
                    .iter()
                    .filter(|p| {
                        p.path == path
                            && p.framework == r.framework
                            && !["websession", "bare"].contains(&p.name.as_str())
                    })
                    .collect();
                let same = peers.iter().filter(|p| {
                    p.mode == r.mode
                        || (p.mode == "cookie" && ["signed", "sealed"].contains(&r.mode.as_str()))
                });
                let best = same
                    .max_by(|a, b| a.req_per_s.total_cmp(&b.req_per_s))
                    .or_else(|| {
                        peers
                            .iter()
                            .max_by(|a, b| a.req_per_s.total_cmp(&b.req_per_s))
                    });
                best.map_or(String::new(), |p| {
                    format!("{:.2}x {}", r.req_per_s / p.req_per_s, p.name)
                })
            } else {
                String::new()
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.0} | {:.2} ms | {} | {} | {} |",
                r.name,
                r.framework,
                r.mode,
                r.req_per_s,
                r.p99_ms,
                if r.name == "bare" {
                    "1.00x".into()
                } else {
                    ratio(bare)
                },
                peer,
                if r.name == "flask" {
                    String::new()
                } else {
                    ratio(flask)
                }
            );
        }
    }
    std::fs::write(dir.join("summary.md"), &md)?;
    print!("{md}");
    chart(&rows, &dir.join("chart.svg"))?;
    Ok(())
}

fn chart(rows: &[Row], path: &std::path::Path) -> anyhow::Result<()> {
    let mut get: Vec<&Row> = rows.iter().filter(|r| r.path == "GET /").collect();
    get.sort_by(|a, b| a.req_per_s.total_cmp(&b.req_per_s));
    let post: BTreeMap<String, f64> = rows
        .iter()
        .filter(|r| r.path == "POST /petname")
        .map(|r| (label(r), r.req_per_s))
        .collect();
    let n = get.len().max(1);
    let max = get.iter().map(|r| r.req_per_s).fold(1.0, f64::max) * 1.15;
    let root = SVGBackend::new(path, (1100, 60 + 34 * n as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Pet-name app, requests per second (one server core, wrk -c64)",
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(300)
        .build_cartesian_2d(0.0..max, 0.0..n as f64)?;
    let labels: Vec<String> = get.iter().map(|r| label(r)).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|y| {
            let i = y.floor() as usize;
            if (*y - y.floor()).abs() < 1e-9 {
                String::new()
            } else {
                labels.get(i).cloned().unwrap_or_default()
            }
        })
        .x_desc("req/s")
        .draw()?;
    for (i, r) in get.iter().enumerate() {
        let y = i as f64;
        let color = match r.name.as_str() {
            "websession" => RGBColor(0x1f, 0x77, 0xb4),
            "bare" => RGBColor(0x99, 0x99, 0x99),
            "flask" => RGBColor(0xd6, 0x27, 0x28),
            _ => RGBColor(0xff, 0x7f, 0x0e),
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, y + 0.5), (r.req_per_s, y + 0.92)],
            color.filled(),
        )))?;
        if let Some(p) = post.get(&label(r)) {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.1), (*p, y + 0.45)],
                color.mix(0.45).filled(),
            )))?;
        }
        chart.draw_series(std::iter::once(Text::new(
            format!("{:.0}", r.req_per_s),
            (r.req_per_s + max * 0.01, y + 0.55),
            ("sans-serif", 12),
        )))?;
    }
    root.present()?;
    Ok(())
}
