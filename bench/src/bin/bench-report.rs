//! Turns `bench/run`'s measurements into the published figures.
//!
//! ```text
//! bench-report target/bench
//! ```
//!
//! Reads `results.jsonl` (one line per wrk run) and `meta.json`, takes the
//! median, minimum and maximum over the rounds of each contender, workload
//! (`sessions`) and path, and writes `summary.json`, `summary.md` (every
//! figure as a ratio to the bare framework, and websession's to its peers of
//! the same mode and refresh rule on the same framework) and `chart.svg`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;

/// A run where wrk used this much of its core or more measured wrk, not
/// the server.
const WRK_BOUND_PCT: f64 = 90.0;

/// Other processes using this much of a core during a run disturbed it.
const NOISY_PCT: f64 = 25.0;

const PATHS: [&str; 2] = ["GET /", "POST /petname"];

#[derive(serde::Deserialize)]
struct Raw {
    name: String,
    framework: String,
    mode: String,
    path: String,
    req_per_s: f64,
    p99: String,
    #[serde(default)]
    errors: String,
    #[serde(default)]
    contender: String,
    #[serde(default)]
    refresh: String,
    #[serde(default = "one")]
    sessions: u32,
    #[serde(default)]
    wrk_cpu_pct: Option<f64>,
    #[serde(default)]
    server_cpu_pct: Option<f64>,
    #[serde(default)]
    other_cpu_pct: Option<f64>,
    /// Redis's server process (null where Redis is not a local process).
    #[serde(default)]
    redis_cpu_pct: Option<f64>,
    /// PostgreSQL's postmaster and backends (null where not local).
    #[serde(default)]
    postgres_cpu_pct: Option<f64>,
}

fn one() -> u32 {
    1
}

#[derive(serde::Deserialize, Default)]
struct Meta {
    #[serde(default)]
    commit: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    duration_s: f64,
    #[serde(default)]
    rounds: u32,
}

/// One contender, workload and path: medians over the rounds, plus the
/// spread. The first six fields are the original summary's.
#[derive(serde::Serialize, Clone)]
struct Row {
    name: String,
    framework: String,
    mode: String,
    path: String,
    req_per_s: f64,
    p99_ms: f64,
    /// `bench-server`'s contender name (stable across reports).
    contender: String,
    /// When an unchanged session's cookie is sent again: `interval-1m`,
    /// `every-request`, `on-change` or `none`.
    refresh: String,
    /// 1: every request uses one hot session; more: one of that many
    /// pre-made sessions at random per request.
    sessions: u32,
    rounds: usize,
    req_per_s_min: f64,
    req_per_s_max: f64,
    p99_ms_min: f64,
    p99_ms_max: f64,
    /// Median req/s over bare on the same framework, workload and path.
    vs_bare: Option<f64>,
    /// Bare's server CPU per request over this one's: the capacity ratio,
    /// which holds even where wrk could not keep bare busy.
    vs_bare_cpu: Option<f64>,
    /// For websession: the peer of the same framework, mode and refresh rule.
    peer: Option<String>,
    vs_peer: Option<f64>,
    /// The most of its core wrk used in any round.
    wrk_cpu_pct_max: Option<f64>,
    /// The least of its core the server used in any round.
    server_cpu_pct_min: Option<f64>,
    /// The server's CPU time per request in microseconds (median over the
    /// rounds): its cost, whether or not wrk kept it busy.
    server_us_per_req: Option<f64>,
    /// The most CPU (percent of one core) anything else used in any round:
    /// Redis or PostgreSQL for their contenders, otherwise interference.
    other_cpu_pct_max: Option<f64>,
    /// The CPU (percent of one core, median over the rounds) Redis's server
    /// used during the measurement: part of `other_cpu_pct_max`, measured
    /// for every contender the same way (near 0 for those that don't use it).
    redis_cpu_pct: Option<f64>,
    /// The same for PostgreSQL: the postmaster, its live backends and the
    /// ones that exited during the measurement.
    postgres_cpu_pct: Option<f64>,
    /// Redis's and PostgreSQL's CPU time together per request, in
    /// microseconds (median over the rounds): the store's cost of a request,
    /// to add to `server_us_per_req`.
    store_us_per_req: Option<f64>,
    /// Some round had wrk at `WRK_BOUND_PCT`% of its core or more.
    wrk_bound: bool,
    /// Something else (not wrk, the server, Redis or PostgreSQL) used
    /// `NOISY_PCT`% of a core or more in some round. Where the stores' CPU
    /// was not measured, the Redis and PostgreSQL contenders are never
    /// flagged (their store is part of other).
    noisy: bool,
    /// wrk's error notes, if any round had any.
    errors: Vec<String>,
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

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Every-request refresh is its own comparison; interval, on-change and
/// none all leave an unchanged session's cookie alone in this benchmark.
fn refreshes_every_request(r: &Row) -> bool {
    r.refresh == "every-request"
}

/// The chart's and the tables' groups, in order: (title, members).
fn group(r: &Row) -> (usize, &'static str) {
    match (r.name.as_str(), r.mode.as_str(), refreshes_every_request(r)) {
        ("bare", ..) => (0, "No session: the bare framework"),
        (_, "signed", false) => (1, "Signed cookie: websession (refresh at most once a minute) vs peers that never refresh"),
        (_, "signed", true) => (2, "Signed cookie, refreshed on every request (Flask's rule)"),
        (_, "sealed", _) => (3, "Encrypted cookie: websession sealed (refresh at most once a minute) vs peers that never refresh"),
        (_, "memory", _) => (4, "Server-side store: memory"),
        (_, "redis", _) => (5, "Server-side store: Redis"),
        (_, "sqlite", _) => (6, "Server-side store: SQLite"),
        (_, "postgres", _) => (7, "Server-side store: PostgreSQL"),
        (_, "py-flask-redis" | "py-django-postgres", _) => (8, "Shared with a Python app's store: Flask-Session's Redis records, Django's django_session table on PostgreSQL"),
        ("flask", ..) => (9, "Flask 3 (signed cookie, refreshed on every request; gunicorn, one worker)"),
        _ => (10, "Other"),
    }
}

/// What the contender is, for people.
fn display(r: &Row) -> String {
    let lib = match r.contender.as_str() {
        "bare-axum" | "bare-actix" => "bare".to_owned(),
        "axum-extra-signed" => "axum-extra SignedCookieJar".to_owned(),
        "axum-extra-signed-every" => "axum-extra SignedCookieJar, re-added on GET".to_owned(),
        "axum-extra-private" => "axum-extra PrivateCookieJar".to_owned(),
        "actix-session-signed" => "actix-session Signed".to_owned(),
        "actix-session-signed-every" => "actix-session Signed, OnEveryRequest".to_owned(),
        "actix-session-cookie" => "actix-session Private".to_owned(),
        "actix-session-redis" => "actix-session RedisSessionStore".to_owned(),
        "tower-sessions-memory" => "tower-sessions MemoryStore".to_owned(),
        "tower-sessions-redis" => "tower-sessions RedisStore".to_owned(),
        "tower-sessions-sqlite" => "tower-sessions SqliteStore (sqlx-store)".to_owned(),
        "tower-sessions-postgres" => "tower-sessions PostgresStore (sqlx-store)".to_owned(),
        "flask" => return "Flask".to_owned(),
        "flask-session-redis" => return "Flask + Flask-Session (Redis)".to_owned(),
        // The group's title says whose records these are; the label
        // names the store, short enough for the chart's label column.
        "websession-axum-py-flask-redis" => "websession-python FlaskSessionStore".to_owned(),
        "websession-axum-py-django-postgres" => "websession-python DjangoStore".to_owned(),
        "django-postgres" => return "Django 5.2 (db backend, PostgreSQL)".to_owned(),
        "flask-session-postgres" => {
            return "Flask + Flask-Session (PostgreSQL, SQLAlchemy)".to_owned()
        }
        _ => r.name.clone(),
    };
    format!("{lib} · {}", r.framework)
}

fn color(r: &Row) -> &'static str {
    match r.name.as_str() {
        "websession" => "#1f77b4",
        "axum-extra" => "#ff7f0e",
        "actix-session" => "#2ca02c",
        "tower-sessions" => "#9467bd",
        "bare" => "#8c8c8c",
        "flask" | "flask-session" | "django" => "#d62728",
        _ => "#444444",
    }
}

/// The Python contenders' names: the anchors, never compared with themselves.
const PYTHON: [&str; 3] = ["flask", "flask-session", "django"];

/// The Python contender a mode's rows are compared with: the Python app on
/// the same store (Flask-Session on Redis or PostgreSQL, Django on its
/// table), else Flask's signed cookie.
fn python_anchor(mode: &str) -> String {
    match mode {
        "py-flask-redis" => "flask-session-redis".to_owned(),
        "py-django-postgres" => "django-postgres".to_owned(),
        mode => format!("flask-session-{mode}"),
    }
}

/// (contender, sessions, path) -> rounds.
type Groups = BTreeMap<(String, u32, String), Vec<Raw>>;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench".into()),
    );
    let text =
        std::fs::read_to_string(dir.join("results.jsonl")).context("reading results.jsonl")?;
    let meta: Meta = std::fs::read_to_string(dir.join("meta.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut groups = Groups::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut r: Raw = serde_json::from_str(line).with_context(|| format!("bad line {line}"))?;
        if r.contender.is_empty() {
            r.contender = format!("{}-{}-{}", r.name, r.framework, r.mode);
        }
        groups
            .entry((r.contender.clone(), r.sessions, r.path.clone()))
            .or_default()
            .push(r);
    }
    let mut rows: Vec<Row> = groups
        .into_values()
        .map(|runs| {
            let rps: Vec<f64> = runs.iter().map(|r| r.req_per_s).collect();
            let p99: Vec<f64> = runs.iter().map(|r| ms(&r.p99)).collect();
            let wrk: Vec<f64> = runs.iter().filter_map(|r| r.wrk_cpu_pct).collect();
            let server: Vec<f64> = runs.iter().filter_map(|r| r.server_cpu_pct).collect();
            let other: Vec<f64> = runs.iter().filter_map(|r| r.other_cpu_pct).collect();
            let redis: Vec<f64> = runs.iter().filter_map(|r| r.redis_cpu_pct).collect();
            let postgres: Vec<f64> = runs.iter().filter_map(|r| r.postgres_cpu_pct).collect();
            let store_us: Vec<f64> = runs
                .iter()
                .filter(|r| r.req_per_s > 0.0)
                .filter(|r| r.redis_cpu_pct.is_some() || r.postgres_cpu_pct.is_some())
                .map(|r| {
                    let pct = r.redis_cpu_pct.unwrap_or(0.0) + r.postgres_cpu_pct.unwrap_or(0.0);
                    pct / 100.0 / r.req_per_s * 1e6
                })
                .collect();
            // Everything else but the stores, where their CPU was measured.
            let interference: Vec<f64> = runs
                .iter()
                .filter(|r| r.redis_cpu_pct.is_some() && r.postgres_cpu_pct.is_some())
                .filter_map(|r| {
                    r.other_cpu_pct.map(|o| {
                        o - r.redis_cpu_pct.unwrap_or(0.0) - r.postgres_cpu_pct.unwrap_or(0.0)
                    })
                })
                .collect();
            let us: Vec<f64> = runs
                .iter()
                .filter(|r| r.req_per_s > 0.0)
                .filter_map(|r| r.server_cpu_pct.map(|c| c / 100.0 / r.req_per_s * 1e6))
                .collect();
            let mut errors: Vec<String> = runs
                .iter()
                .filter(|r| !r.errors.is_empty())
                .map(|r| r.errors.clone())
                .collect();
            errors.dedup();
            let first = &runs[0];
            Row {
                name: first.name.clone(),
                framework: first.framework.clone(),
                mode: first.mode.clone(),
                path: first.path.clone(),
                req_per_s: median(rps.clone()),
                p99_ms: median(p99.clone()),
                contender: first.contender.clone(),
                refresh: if first.refresh.is_empty() {
                    "unknown".into()
                } else {
                    first.refresh.clone()
                },
                sessions: first.sessions,
                rounds: runs.len(),
                req_per_s_min: min(&rps),
                req_per_s_max: max(&rps),
                p99_ms_min: min(&p99),
                p99_ms_max: max(&p99),
                vs_bare: None,
                vs_bare_cpu: None,
                peer: None,
                vs_peer: None,
                wrk_cpu_pct_max: (!wrk.is_empty()).then(|| max(&wrk)),
                server_cpu_pct_min: (!server.is_empty()).then(|| min(&server)),
                other_cpu_pct_max: (!other.is_empty()).then(|| max(&other)),
                server_us_per_req: (!us.is_empty()).then(|| median(us)),
                redis_cpu_pct: (!redis.is_empty()).then(|| median(redis)),
                postgres_cpu_pct: (!postgres.is_empty()).then(|| median(postgres)),
                store_us_per_req: (!store_us.is_empty()).then(|| median(store_us)),
                wrk_bound: wrk.iter().any(|w| *w >= WRK_BOUND_PCT),
                noisy: if interference.len() == runs.len() {
                    interference.iter().any(|o| *o >= NOISY_PCT)
                } else {
                    !["redis", "postgres"].contains(&first.mode.as_str())
                        && other.iter().any(|o| *o >= NOISY_PCT)
                },
                errors,
            }
        })
        .collect();

    // Ratios, within one framework, workload and path.
    let snapshot = rows.clone();
    for r in &mut rows {
        let same =
            |p: &&Row| p.framework == r.framework && p.path == r.path && p.sessions == r.sessions;
        let bare = snapshot
            .iter()
            .filter(same)
            .find(|p| p.name == "bare" && p.req_per_s > 0.0);
        r.vs_bare = bare.map(|b| r.req_per_s / b.req_per_s);
        r.vs_bare_cpu = bare
            .and_then(|b| b.server_us_per_req)
            .zip(r.server_us_per_req)
            .filter(|(_, us)| *us > 0.0)
            .map(|(b, us)| b / us);
        if r.name == "websession" {
            let peer = snapshot
                .iter()
                .filter(same)
                .filter(|p| {
                    !["websession", "bare"].contains(&p.name.as_str())
                        && !PYTHON.contains(&p.name.as_str())
                        && p.mode == r.mode
                        && refreshes_every_request(p) == refreshes_every_request(r)
                        && p.req_per_s > 0.0
                })
                .max_by(|a, b| a.req_per_s.total_cmp(&b.req_per_s));
            if let Some(p) = peer {
                r.peer = Some(p.contender.clone());
                r.vs_peer = Some(r.req_per_s / p.req_per_s);
            }
        }
    }
    rows.sort_by(|a, b| {
        (group(a).0, a.sessions, &a.path)
            .cmp(&(group(b).0, b.sessions, &b.path))
            .then(b.req_per_s.total_cmp(&a.req_per_s))
    });
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&rows)?,
    )?;
    let md = markdown(&rows, &meta);
    std::fs::write(dir.join("summary.md"), &md)?;
    print!("{md}");
    std::fs::write(dir.join("chart.svg"), chart(&rows, &meta))?;
    Ok(())
}

fn x(ratio: Option<f64>) -> String {
    ratio.map_or(String::new(), |r| format!("{r:.2}x"))
}

fn workloads(rows: &[Row]) -> Vec<u32> {
    let mut w: Vec<u32> = rows.iter().map(|r| r.sessions).collect();
    w.sort_unstable_by(|a, b| b.cmp(a));
    w.dedup();
    w
}

fn workload_title(sessions: u32) -> String {
    if sessions == 1 {
        "One hot session (all 64 connections send the same cookie)".into()
    } else {
        format!("{sessions} sessions (a pre-made cookie picked at random per request)")
    }
}

fn markdown(rows: &[Row], meta: &Meta) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Commit `{}`, {}: {} round(s) of {} s per measurement; medians, with min–max over the rounds.",
        meta.commit, meta.date, meta.rounds, meta.duration_s
    );
    let _ = writeln!(
        md,
        "CPU: percent of one core over each wrk run (most for wrk and other, least for the server, over the rounds); \
         other is everything else on the machine (Redis or PostgreSQL for their contenders, else interference). \
         Server µs/req: the server's CPU time per request, which does not depend on wrk keeping up; \
         vs bare (CPU) is bare's µs/req over this one's, the capacity ratio where wrk could not keep bare busy. \
         Store CPU: what Redis's server and PostgreSQL's processes used (percent of one core, median over the rounds; \
         part of other), measured for every contender, and the two together per request. \
         vs Flask: against Flask + Flask-Session on the same store for the Redis and PostgreSQL rows, \
         else against Flask's signed cookie."
    );
    let find = |contender: &str, sessions: u32, path: &str| {
        rows.iter()
            .find(|r| r.contender == contender && r.sessions == sessions && r.path == path)
    };
    // The headline: websession against its peers.
    let ws: Vec<&Row> = rows
        .iter()
        .filter(|r| r.name == "websession" && r.path == "GET /")
        .collect();
    let loads = workloads(rows);
    let _ = writeln!(md, "\n### websession against its peers (req/s ratio)\n");
    let mut head = "| websession | refresh | peer |".to_owned();
    let mut rule = "|---|---|---|".to_owned();
    for n in &loads {
        for path in PATHS {
            let _ = write!(
                head,
                " {path}, {n} session{} |",
                if *n == 1 { "" } else { "s" }
            );
            rule.push_str("---|");
        }
    }
    let _ = writeln!(md, "{head}\n{rule}");
    let mut seen = std::collections::BTreeSet::new();
    for w in ws {
        if !seen.insert(&w.contender) {
            continue;
        }
        let Some(peer) = rows
            .iter()
            .find(|r| r.contender == w.contender && r.peer.is_some())
            .and_then(|r| r.peer.clone())
        else {
            continue;
        };
        let mut line = format!(
            "| {} {} | {} | {} |",
            w.mode,
            w.framework,
            w.refresh,
            find(&peer, w.sessions, "GET /").map_or(peer.clone(), display)
        );
        for n in &loads {
            for path in PATHS {
                let cell = find(&w.contender, *n, path).and_then(|r| r.vs_peer);
                let _ = write!(line, " {} |", x(cell));
            }
        }
        let _ = writeln!(md, "{line}");
    }

    for n in loads {
        for path in PATHS {
            let _ = writeln!(md, "\n### {}: `{path}`\n", workload_title(n));
            let _ = writeln!(
                md,
                "| contender | mode | refresh | req/s | min–max | p99 | vs bare | vs peer | vs Flask | server µs/req | vs bare (CPU) | CPU wrk / server / other | store CPU Redis / PostgreSQL (µs/req) |"
            );
            let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            for r in rows.iter().filter(|r| r.sessions == n && r.path == path) {
                // The Python anchor: Flask-Session on the same store, else Flask's cookie.
                let flask = find(&python_anchor(&r.mode), n, path)
                    .or_else(|| find("flask", n, path))
                    .map(|f| f.req_per_s);
                let peer = match (&r.peer, r.vs_peer) {
                    (Some(p), Some(v)) => {
                        format!("{v:.2}x {}", find(p, n, path).map_or(p.clone(), display))
                    }
                    _ => String::new(),
                };
                let vs_flask = flask
                    .filter(|f| *f > 0.0 && !PYTHON.contains(&r.name.as_str()))
                    .map(|f| r.req_per_s / f);
                let pct = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v:.0}%"));
                let wrk = format!(
                    "{} / {} / {}{}",
                    pct(r.wrk_cpu_pct_max),
                    pct(r.server_cpu_pct_min),
                    pct(r.other_cpu_pct_max),
                    if r.wrk_bound { " **wrk-bound**" } else { "" }
                ) + if r.noisy { " **noisy**" } else { "" };
                let store = if r.redis_cpu_pct.is_none() && r.postgres_cpu_pct.is_none() {
                    String::new()
                } else {
                    format!(
                        "{} / {}{}",
                        pct(r.redis_cpu_pct),
                        pct(r.postgres_cpu_pct),
                        r.store_us_per_req
                            .map_or(String::new(), |u| format!(" ({u:.1})"))
                    )
                };
                let errors = if r.errors.is_empty() {
                    String::new()
                } else {
                    format!(" (errors: {})", r.errors.join(", "))
                };
                let _ = writeln!(
                    md,
                    "| {}{errors} | {} | {} | {:.0} | {:.0}–{:.0} | {:.2} ms | {} | {} | {} | {} | {} | {} | {store} |",
                    display(r),
                    r.mode,
                    r.refresh,
                    r.req_per_s,
                    r.req_per_s_min,
                    r.req_per_s_max,
                    r.p99_ms,
                    x(r.vs_bare),
                    peer,
                    x(vs_flask),
                    r.server_us_per_req
                        .map_or(String::new(), |u| format!("{u:.1}")),
                    x(r.vs_bare_cpu),
                    wrk
                );
            }
        }
    }
    let bound: Vec<String> = rows
        .iter()
        .filter(|r| r.wrk_bound)
        .map(|r| format!("{} {} ({} sessions)", r.contender, r.path, r.sessions))
        .collect();
    let noisy: Vec<String> = rows
        .iter()
        .filter(|r| r.noisy)
        .map(|r| format!("{} {} ({} sessions)", r.contender, r.path, r.sessions))
        .collect();
    if !noisy.is_empty() {
        let _ = writeln!(
            md,
            "\nOther processes used ≥ {NOISY_PCT:.0}% of a core during some round of: {}. Those figures are disturbed.",
            noisy.join("; ")
        );
    }
    if !bound.is_empty() {
        let _ = writeln!(
            md,
            "\nwrk used ≥ {WRK_BOUND_PCT:.0}% of its core in some round of: {}. Those figures are wrk's limit, not the server's.",
            bound.join("; ")
        );
    }
    md
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Requests per second as people write them: `950`, `2.6k`, `126k`.
fn short(v: f64) -> String {
    if v >= 9_950.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// A tick step of 1, 2, 2.5 or 5 times a power of ten, for about `n` ticks.
fn tick_step(span: f64, n: f64) -> f64 {
    let raw = span / n;
    let pow = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow)
}

/// A horizontal bar chart, drawn by hand: one panel per path, one row per
/// contender, grouped by mode; bars for the many-sessions workload with
/// their min–max whisker, a diamond for the hot single session, and the
/// ratio to bare on every bar.
fn chart(rows: &[Row], meta: &Meta) -> String {
    const W: f64 = 1400.0;
    const LABEL_W: f64 = 360.0;
    const GAP: f64 = 36.0;
    const RIGHT: f64 = 16.0;
    const ROW_H: f64 = 19.0;
    const HEAD_H: f64 = 26.0;
    // Below the title, the subtitle and the legend's two lines.
    const TOP: f64 = 158.0;
    const ROOM: f64 = 110.0; // for the label after the longest bar
    let panel_w = (W - LABEL_W - GAP - RIGHT) / 2.0;
    let x0 = [LABEL_W, LABEL_W + panel_w + GAP];

    let spread = rows.iter().map(|r| r.sessions).max().unwrap_or(1);
    let hot = rows.iter().map(|r| r.sessions).min().unwrap_or(1);
    let get = |contender: &str, sessions: u32, path: &str| {
        rows.iter()
            .find(|r| r.contender == contender && r.sessions == sessions && r.path == path)
    };
    // One line per contender: by group, then framework, websession first.
    let mut order: Vec<&Row> = Vec::new();
    for r in rows {
        if !order.iter().any(|o| o.contender == r.contender) {
            order.push(r);
        }
    }
    order.sort_by_key(|r| {
        (
            group(r).0,
            r.framework != "axum",
            r.name != "websession",
            r.contender.clone(),
        )
    });
    let top = rows
        .iter()
        .map(|r| r.req_per_s_max.max(r.req_per_s))
        .fold(1.0, f64::max);
    let scale = (panel_w - ROOM) / top;
    let step = tick_step(panel_w / scale, 8.0);

    let mut body = String::new();
    let mut y = TOP;
    let mut last_group = usize::MAX;
    let mut last_framework = "";
    for r in &order {
        let (g, title) = group(r);
        if g == last_group && r.framework != last_framework {
            y += 5.0;
        }
        last_framework = &r.framework;
        if g != last_group {
            last_group = g;
            y += 4.0;
            let _ = writeln!(
                body,
                r##"<rect x="8" y="{:.1}" width="{:.1}" height="{:.1}" fill="#eef2f7"/><text x="14" y="{:.1}" font-size="13" font-weight="bold" fill="#223">{}</text>"##,
                y,
                W - 16.0,
                HEAD_H - 6.0,
                y + HEAD_H - 11.0,
                esc(title)
            );
            y += HEAD_H;
        }
        let cy = y + ROW_H / 2.0;
        let _ = writeln!(
            body,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#111">{}</text>"##,
            LABEL_W - 8.0,
            cy + 4.0,
            esc(&display(r))
        );
        for (i, path) in PATHS.iter().enumerate() {
            let px = x0[i];
            if let Some(s) = get(&r.contender, spread, path) {
                let w = (s.req_per_s * scale).max(1.0);
                let _ = writeln!(
                    body,
                    r##"<rect x="{px:.1}" y="{:.1}" width="{w:.1}" height="12" fill="{}"/>"##,
                    cy - 6.0,
                    color(s)
                );
                if s.rounds > 1 {
                    let (a, b) = (px + s.req_per_s_min * scale, px + s.req_per_s_max * scale);
                    let _ = writeln!(
                        body,
                        r##"<path d="M{a:.1} {cy:.1}H{b:.1}M{a:.1} {:.1}V{:.1}M{b:.1} {:.1}V{:.1}" stroke="#222" stroke-width="1"/>"##,
                        cy - 3.0,
                        cy + 3.0,
                        cy - 3.0,
                        cy + 3.0
                    );
                }
                let mut label = short(s.req_per_s);
                if let Some(v) = s.vs_bare.filter(|_| s.name != "bare") {
                    let _ = write!(label, " · {v:.2}× bare");
                }
                if s.wrk_bound {
                    label.push_str(" · wrk-bound");
                }
                if s.noisy {
                    label.push_str(" · noisy");
                }
                let end = px + (s.req_per_s_max.max(s.req_per_s)) * scale;
                let mut lx = end + 6.0;
                if spread != hot {
                    if let Some(h) = get(&r.contender, hot, path) {
                        let hx = px + h.req_per_s * scale;
                        let _ = writeln!(
                            body,
                            r##"<path d="M{hx:.1} {:.1}l4.5 5.5l-4.5 5.5l-4.5 -5.5z" fill="{}" stroke="#fff" stroke-width="0.8"/>"##,
                            cy - 5.5,
                            if h.wrk_bound { "#e00" } else { "#000" }
                        );
                        // Keep the label clear of the diamond.
                        let text_w = 6.3 * label.chars().count() as f64;
                        if hx + 5.0 >= lx && hx - 5.0 <= lx + text_w {
                            lx = hx + 8.0;
                        }
                    }
                }
                let _ = writeln!(
                    body,
                    r##"<text x="{lx:.1}" y="{:.1}" font-size="11" fill="{}">{}</text>"##,
                    cy + 4.0,
                    if s.wrk_bound { "#c00" } else { "#222" },
                    esc(&label)
                );
            }
        }
        y += ROW_H;
    }
    let bottom = y + 6.0;

    // Axes: ticks, grid lines and the panel titles.
    let mut axes = String::new();
    for (i, path) in PATHS.iter().enumerate() {
        let px = x0[i];
        let _ = writeln!(
            axes,
            r##"<text x="{:.1}" y="{:.1}" font-size="15" font-weight="bold" text-anchor="middle">{}</text>"##,
            px + panel_w / 2.0,
            TOP - 26.0,
            esc(&format!("{path} (requests per second)"))
        );
        let mut t = 0.0;
        while t * scale <= panel_w + 0.5 {
            let tx = px + t * scale;
            let _ = writeln!(
                axes,
                r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{bottom:.1}" stroke="{}" stroke-width="1"/><text x="{tx:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#444">{}</text><text x="{tx:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#444">{}</text>"##,
                TOP - 4.0,
                if t == 0.0 { "#888" } else { "#e3e3e3" },
                TOP - 8.0,
                short(t),
                bottom + 14.0,
                short(t)
            );
            t += step;
        }
    }

    let height = bottom + 40.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height:.0}" viewBox="0 0 {W} {height:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"##
    );
    let _ = writeln!(svg, r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    let _ = writeln!(
        svg,
        r##"<text x="14" y="26" font-size="19" font-weight="bold">Pet-name app, requests per second: one server core (taskset), wrk -t1 -c64 on the other</text>"##
    );
    let rounds = if meta.rounds > 1 {
        format!(
            "median of {} rounds of {} s, whisker min–max",
            meta.rounds, meta.duration_s
        )
    } else {
        format!("one round of {} s", meta.duration_s)
    };
    let _ = writeln!(
        svg,
        r##"<text x="14" y="47" font-size="12.5" fill="#333">Bars: {spread} sessions, one picked at random per request; ◆ one hot session shared by every connection. Label: median req/s of the bars, and its ratio to the bare framework (same framework, workload and path).</text>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="14" y="65" font-size="12.5" fill="#333">Every POST writes a new pet name. websession commit {}, {}; {rounds}. Higher is better.</text>"##,
        esc(&meta.commit),
        esc(&meta.date)
    );
    // Legend.
    let mut lx = 14.0;
    for (name, c) in [
        ("websession", "#1f77b4"),
        ("axum-extra", "#ff7f0e"),
        ("actix-session", "#2ca02c"),
        ("tower-sessions", "#9467bd"),
        ("bare framework", "#8c8c8c"),
        ("Flask (+ Flask-Session)", "#d62728"),
    ] {
        let _ = writeln!(
            svg,
            r##"<rect x="{lx:.1}" y="76" width="14" height="12" fill="{c}"/><text x="{:.1}" y="86.5" font-size="12.5">{name}</text>"##,
            lx + 19.0
        );
        lx += 19.0 + 7.3 * name.len() as f64 + 22.0;
    }
    // The markers on a second line, so the legend never runs off the
    // chart's right edge.
    let mut lx = 14.0;
    let _ = writeln!(
        svg,
        r##"<path d="M{:.1} 94.5l4.5 5.5l-4.5 5.5l-4.5 -5.5z" fill="#000"/><text x="{:.1}" y="104.5" font-size="12.5">one hot session (the label is the bar's)</text>"##,
        lx + 5.0,
        lx + 16.0
    );
    lx += 16.0 + 7.3 * 38.0 + 22.0;
    if rows.iter().any(|r| r.wrk_bound) {
        let _ = writeln!(
            svg,
            r##"<path d="M{:.1} 94.5l4.5 5.5l-4.5 5.5l-4.5 -5.5z" fill="#e00"/><text x="{:.1}" y="104.5" font-size="12.5" fill="#c00">wrk-bound: wrk used ≥ {WRK_BOUND_PCT:.0}% of its core (the figure is wrk's limit)</text>"##,
            lx + 5.0,
            lx + 16.0
        );
        lx += 16.0 + 7.3 * 62.0 + 22.0;
    }
    if meta.rounds > 1 {
        let _ = writeln!(
            svg,
            r##"<path d="M{:.1} 100H{:.1}M{:.1} 97V103M{:.1} 97V103" stroke="#222"/><text x="{:.1}" y="104.5" font-size="12.5">min–max over the rounds</text>"##,
            lx,
            lx + 18.0,
            lx,
            lx + 18.0,
            lx + 24.0
        );
    }
    svg.push_str(&axes);
    svg.push_str(&body);
    svg.push_str("</svg>\n");
    svg
}
