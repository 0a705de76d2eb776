//! A writing process killed with SIGKILL (issue 25): the file is never
//! corrupt and no write the store answered `Ok` is lost.
//!
//! What the crate docs promise ("Durability"): in WAL mode with the default
//! `synchronous=NORMAL`, a crash of the application loses nothing that was
//! answered, because a commit is in the operating system's hands (the log
//! file's pages) before the caller hears of it. A kill is exactly that kind
//! of crash: the process dies, the kernel and its page cache go on. It is
//! **not** a power loss or an operating-system crash, which with `NORMAL`
//! may lose the writes answered since the last checkpoint (never corrupting
//! the file): this test says nothing about those, and can't.
//!
//! [`a_killed_writer_loses_no_answered_write`] runs this test binary again
//! as a child ([`writer_process`], which does nothing unless
//! `WEBSESSION_SQLITE_CRASH_DB` names a file). The child opens the store
//! and writes as fast as it can from several tokio tasks: creates, updates
//! (change sets: keys set and removed, clears, users, expiries, now and then
//! a value of 1 to 4 KB that spills onto overflow pages), `cycle_id`s and
//! deletes. Before each call it prints `try <task> <seq> <op> <ids...>
//! <state after>`, and once the call answered `Ok`, `ok <task> <seq>`, each
//! line written whole and flushed. The parent kills it at a random moment,
//! 2 to 300 ms after it said `ready`, and opens the store again: `PRAGMA
//! integrity_check` says "ok", `PRAGMA foreign_key_check` finds no value row
//! without its session, every acknowledged write is there (the last
//! acknowledged state of every session; an acknowledged delete or the old
//! id of an acknowledged cycle gone) and no other session is. A write that
//! was not acknowledged (its `ok` line missing or cut by the kill) may have
//! happened or not, but wholly: a cycle either moved the session with its
//! change set or left it as it was. The next child starts from what is in
//! the file, on the same file, for `WEBSESSION_SQLITE_CRASH_ROUNDS` rounds
//! (default 25). `WEBSESSION_SQLITE_CRASH_SEED` repeats a run's choices
//! (delays and operations; not the timing, so not the exact kill points).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use websession_core::store::{ChangeSet, IdHash, Record, SessionId, SessionStore};
use websession_core::testing::now;
use websession_core::{Map, Value};
use websession_sqlite::SqliteStore;

/// The database file the child writes to; unset, the child does nothing.
const DB_VAR: &str = "WEBSESSION_SQLITE_CRASH_DB";
/// How many kills (default [`ROUNDS`]).
const ROUNDS_VAR: &str = "WEBSESSION_SQLITE_CRASH_ROUNDS";
/// The seed of the random choices (default: from the clock; printed).
const SEED_VAR: &str = "WEBSESSION_SQLITE_CRASH_SEED";
/// Kills when [`ROUNDS_VAR`] is unset (about 5 s in all).
const ROUNDS: u32 = 25;

/// The child's name in this test binary (libtest's: the module path less
/// the crate's name), e.g. `crash::writer_process`.
fn child_name() -> String {
    let module = module_path!();
    let module = module.split_once("::").map_or(module, |(_, inner)| inner);
    format!("{module}::writer_process")
}

/// Writing tasks in the child.
const TASKS: u64 = 4;
/// Live sessions a task keeps at most (then it updates, cycles, deletes).
const LIVE_PER_TASK: usize = 12;

/// A small random generator (xorshift64*), enough to vary the choices.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A record as one line-safe word (no spaces): times, user, and each key
/// with its tagged JSON (a long one as its length and hash).
fn describe(record: &Record) -> String {
    let values: Vec<String> = record
        .data
        .iter()
        .map(|(key, value)| {
            let json = value.to_value().to_tagged_json();
            if json.len() <= 40 {
                format!("{key}={json}")
            } else {
                // FNV-1a: enough to tell two long values apart.
                let hash = json.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
                format!("{key}=#{}:{hash:016x}", json.len())
            }
        })
        .collect();
    format!(
        "c{}:e{}:u{}:{}",
        record.created_at,
        record.expires_at,
        record.user.as_deref().unwrap_or("-"),
        values.join(",")
    )
}

/// One line to stdout, whole, flushed before the caller goes on.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| out.flush())
        .expect("stdout");
}

fn random_value(rng: &mut Rng, seq: u64) -> Value {
    match rng.below(10) {
        0..=3 => Value::Int(i64::try_from(rng.below(1_000_000)).unwrap_or(0)),
        4..=8 => Value::from(format!("s{seq}x{}", rng.below(1000))),
        // Spills onto an overflow page.
        _ => Value::from(format!(
            "{seq}:{}",
            "y".repeat(1000 + (seq % 3000) as usize)
        )),
    }
}

fn random_data(rng: &mut Rng, seq: u64) -> Map {
    (0..rng.below(4))
        .map(|_| (format!("k{}", rng.below(8)), random_value(rng, seq)))
        .collect()
}

fn random_changes(rng: &mut Rng, seq: u64, t: u64) -> ChangeSet {
    let mut changes = ChangeSet::touch(t + 86_400 + rng.below(100_000));
    if rng.below(20) == 0 {
        changes = changes.with_cleared();
    }
    for _ in 0..rng.below(3) {
        changes = changes.with_removed(format!("k{}", rng.below(8)));
    }
    for _ in 0..=rng.below(3) {
        let key = format!("k{}", rng.below(8));
        changes.removed.remove(&key);
        changes = changes.with_set(key, random_value(rng, seq));
    }
    match rng.below(10) {
        0 => changes.with_user(None),
        1 => changes.with_user(Some(format!("user{}", rng.below(5)))),
        _ => changes,
    }
}

/// One task of the child: writes until the process is killed.
async fn write_forever(store: SqliteStore, task: u64, seed: u64, mut live: Vec<(IdHash, Record)>) {
    let mut rng = Rng::new(seed ^ (task + 1).wrapping_mul(0x1234_5678_9abc));
    let t = now();
    for seq in 1_u64.. {
        let roll = rng.below(100);
        let result = if live.is_empty() || (roll < 30 && live.len() < LIVE_PER_TASK) {
            let id = SessionId::generate().hash();
            let user = (rng.below(3) == 0).then(|| format!("user{}", rng.below(5)));
            let record =
                Record::new(random_data(&mut rng, seq), t, t + 86_400 + seq).with_user(user);
            say(&format!(
                "try {task} {seq} create {} {}",
                id.to_hex(),
                describe(&record)
            ));
            let result = store.create(&id, &record, t).await;
            live.push((id, record));
            result
        } else {
            let i = usize::try_from(rng.below(live.len() as u64)).unwrap_or(0);
            if roll < 75 {
                let changes = random_changes(&mut rng, seq, t);
                let (id, record) = &mut live[i];
                record.apply(&changes);
                say(&format!(
                    "try {task} {seq} update {} {}",
                    id.to_hex(),
                    describe(record)
                ));
                store.update(id, &changes, t).await
            } else if roll < 88 {
                let changes = random_changes(&mut rng, seq, t);
                let new = SessionId::generate().hash();
                let (old, record) = &mut live[i];
                record.apply(&changes);
                say(&format!(
                    "try {task} {seq} cycle {} {} {}",
                    old.to_hex(),
                    new.to_hex(),
                    describe(record)
                ));
                let result = store.cycle_id(old, &new, &changes, t).await;
                *old = new;
                result
            } else {
                let (id, _) = live.swap_remove(i);
                say(&format!("try {task} {seq} delete {}", id.to_hex()));
                store.delete(&id).await
            }
        };
        match result {
            Ok(()) => say(&format!("ok {task} {seq}")),
            Err(e) => {
                // Nothing else uses the file: any error is a failure.
                say(&format!("err {task} {seq} {e:?}"));
                return;
            }
        }
    }
}

/// The child process of [`a_killed_writer_loses_no_answered_write`]: writes
/// to the file `WEBSESSION_SQLITE_CRASH_DB` names until it is killed.
#[test]
#[ignore = "the writer process a_killed_writer_loses_no_answered_write starts and kills; alone it does nothing"]
fn writer_process() {
    let Some(path) = std::env::var_os(DB_VAR) else {
        return;
    };
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let path = path.to_str().expect("utf8").to_owned();
        let store = SqliteStore::connect(&path).await.expect("open");
        // Go on from what the last child left (the parent checked it).
        let ids: Vec<Vec<u8>> = {
            let conn = rusqlite::Connection::open(&path).expect("connection");
            let mut stmt = conn
                .prepare("SELECT id FROM websession_sessions")
                .expect("prepare");
            let rows = stmt.query_map([], |row| row.get(0)).expect("query");
            rows.collect::<Result<_, _>>().expect("ids")
        };
        let mut live: Vec<Vec<(IdHash, Record)>> = (0..TASKS).map(|_| Vec::new()).collect();
        for (n, bytes) in ids.iter().enumerate() {
            let id = IdHash::from_bytes(bytes).expect("32 bytes");
            let record = store.load(&id, now()).await.expect("load").expect("live");
            let tasks = live.len();
            live[n % tasks].push((id, record));
        }
        // On a line of its own: libtest may have printed half of one.
        say("\nready");
        let tasks: Vec<_> = live
            .into_iter()
            .zip(0..)
            .map(|(live, task)| tokio::spawn(write_forever(store.clone(), task, seed, live)))
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        // Every task stopped on an error (already printed): wait for the kill.
        std::future::pending::<()>().await;
    });
}

/// A write the child started, from its `try` line.
#[derive(Debug, Clone)]
enum Op {
    Create {
        id: String,
        state: String,
    },
    Update {
        id: String,
        state: String,
    },
    Cycle {
        old: String,
        new: String,
        state: String,
    },
    Delete {
        id: String,
    },
}

impl Op {
    fn parse(words: &[&str]) -> Option<Self> {
        Some(match *words {
            ["create", id, state] => Self::Create {
                id: id.to_owned(),
                state: state.to_owned(),
            },
            ["update", id, state] => Self::Update {
                id: id.to_owned(),
                state: state.to_owned(),
            },
            ["cycle", old, new, state] => Self::Cycle {
                old: old.to_owned(),
                new: new.to_owned(),
                state: state.to_owned(),
            },
            ["delete", id] => Self::Delete { id: id.to_owned() },
            _ => return None,
        })
    }

    /// The ids this write touches, each with its state after it (`None`: gone).
    fn after(&self) -> Vec<(&str, Option<&str>)> {
        match self {
            Self::Create { id, state } | Self::Update { id, state } => {
                vec![(id, Some(state))]
            }
            Self::Cycle { old, new, state } => vec![(old, None), (new, Some(state))],
            Self::Delete { id } => vec![(id, None)],
        }
    }

    fn apply(&self, model: &mut HashMap<String, String>) {
        for (id, state) in self.after() {
            match state {
                Some(state) => model.insert(id.to_owned(), state.to_owned()),
                None => model.remove(id),
            };
        }
    }
}

/// What one child printed, read whole after the kill.
struct Output {
    lines: Vec<String>,
    /// Bytes of a last line the kill cut short (it doesn't count).
    cut: usize,
}

fn read_output(stdout: impl Read, ready: &mpsc::Sender<()>) -> Output {
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).expect("read the child");
        if n == 0 {
            return Output { lines, cut: 0 };
        }
        if buf.last() != Some(&b'\n') {
            return Output { lines, cut: n };
        }
        let line = String::from_utf8_lossy(&buf[..n - 1]).into_owned();
        if line == "ready" {
            let _ = ready.send(());
        } else {
            lines.push(line);
        }
    }
}

/// What one round learned from the child's lines.
#[derive(Default)]
struct Round {
    acknowledged: usize,
    /// Per task, the write it started and saw no `ok` for.
    in_flight: HashMap<u64, (u64, Op)>,
}

/// Applies the acknowledged writes to `model`; returns those in flight.
fn replay(output: &Output, model: &mut HashMap<String, String>, context: &str) -> Round {
    let mut round = Round::default();
    for line in &output.lines {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["try", task, seq, op @ ..] => {
                let task: u64 = task.parse().expect("task");
                let seq: u64 = seq.parse().expect("seq");
                let op = Op::parse(op).unwrap_or_else(|| panic!("{context}: bad line {line:?}"));
                if let Some(earlier) = round.in_flight.insert(task, (seq, op)) {
                    panic!("{context}: task {task} started {seq} before {earlier:?} answered");
                }
            }
            ["ok", task, seq] => {
                let task: u64 = task.parse().expect("task");
                let seq: u64 = seq.parse().expect("seq");
                let (started, op) = round
                    .in_flight
                    .remove(&task)
                    .unwrap_or_else(|| panic!("{context}: {line:?} without its try"));
                assert_eq!(started, seq, "{context}: {line:?}");
                op.apply(model);
                round.acknowledged += 1;
            }
            ["err", ..] => {
                panic!("{context}: a write failed with nothing else on the file: {line}")
            }
            // libtest's own lines.
            _ => {}
        }
    }
    round
}

/// The sessions table's ids, in hex.
fn ids_in_file(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT id FROM websession_sessions")
        .expect("prepare");
    let rows = stmt
        .query_map([], |row| row.get::<_, Vec<u8>>(0))
        .expect("query");
    rows.map(|bytes| {
        IdHash::from_bytes(&bytes.expect("row"))
            .expect("32 bytes")
            .to_hex()
    })
    .collect()
}

/// Counts of what the checks found, for the summary.
#[derive(Default, Debug)]
struct Totals {
    acknowledged: usize,
    in_flight_done: usize,
    in_flight_not_done: usize,
    cut_lines: usize,
}

/// Reopens the store after a kill and checks the file against `model`
/// (the acknowledged state, to which the writes in flight that happened
/// are added).
async fn check(
    path: &Path,
    model: &mut HashMap<String, String>,
    round: Round,
    totals: &mut Totals,
    context: &str,
) {
    let store = SqliteStore::connect(path.to_str().expect("utf8"))
        .await
        .unwrap_or_else(|e| panic!("{context}: the store opens after the kill: {e:?}"));
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("read-only connection");
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()
        })
        .expect("integrity_check");
    assert_eq!(integrity, ["ok"], "{context}: the file is intact");
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_foreign_key_check('websession_values')",
            [],
            |row| row.get(0),
        )
        .expect("foreign_key_check");
    assert_eq!(orphans, 0, "{context}: no value row outlives its session");

    let state = |id: String| {
        let store = store.clone();
        async move {
            let hash = IdHash::from_hex(&id).expect("hex");
            let record = store
                .load(&hash, now())
                .await
                .unwrap_or_else(|e| panic!("load {id}: {e:?}"));
            record.as_ref().map(describe)
        }
    };

    // Each write in flight happened wholly or not at all.
    for (task, (seq, op)) in round.in_flight {
        let after = op.after();
        let mut found = Vec::new();
        for (id, _) in &after {
            found.push(state((*id).to_owned()).await);
        }
        let done = after
            .iter()
            .zip(&found)
            .all(|((_, want), got)| want.map(str::to_owned) == *got);
        let not_done = after
            .iter()
            .zip(&found)
            .all(|((id, _), got)| model.get(*id) == got.as_ref());
        assert!(
            done || not_done,
            "{context}: task {task}'s write {seq} ({op:?}), in flight at the kill, \
             is neither done nor undone: the file has {found:?}"
        );
        if done {
            op.apply(model);
            totals.in_flight_done += 1;
        } else {
            totals.in_flight_not_done += 1;
        }
    }

    // Every acknowledged session as acknowledged, and nothing else.
    for (id, want) in model.iter() {
        let got = state(id.clone()).await;
        assert_eq!(
            got.as_deref(),
            Some(want.as_str()),
            "{context}: session {id} is as its last acknowledged write left it"
        );
    }
    let mut extra: Vec<String> = ids_in_file(&conn)
        .into_iter()
        .filter(|id| !model.contains_key(id))
        .collect();
    extra.sort();
    assert!(
        extra.is_empty(),
        "{context}: sessions in the file that were deleted, cycled away or never \
         created: {extra:?}"
    );
    totals.acknowledged += round.acknowledged;
}

/// SIGKILL a process writing through `SqliteStore`, many times on one file:
/// the file stays intact and every write answered `Ok` is in it. A process
/// kill, not a power loss: see this module's docs.
#[test]
fn a_killed_writer_loses_no_answered_write() {
    let rounds: u32 = std::env::var(ROUNDS_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(ROUNDS);
    let seed: u64 = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            u64::from(nanos) ^ (u64::from(std::process::id()) << 32)
        });
    println!("{SEED_VAR}={seed} {ROUNDS_VAR}={rounds}");
    let mut rng = Rng::new(seed);
    let path = super::temp_db("crash");
    let exe = std::env::current_exe().expect("this test binary");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let mut model: HashMap<String, String> = HashMap::new();
    let mut totals = Totals::default();

    for n in 1..=rounds {
        let delay = Duration::from_millis(2 + rng.below(299));
        let context =
            format!("round {n} of {rounds} (kill {delay:?} after ready, {SEED_VAR}={seed})");
        let mut child = Command::new(&exe)
            .args(["--exact", &child_name(), "--nocapture", "--ignored"])
            .env(DB_VAR, &path)
            .env(SEED_VAR, rng.next().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the writer");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (ready, is_ready) = mpsc::channel();
        let out = std::thread::spawn(move || read_output(stdout, &ready));
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        // Not a timing assertion: only that a child which never gets
        // ready (a panic at open) fails the test instead of hanging it.
        let got_ready = is_ready.recv_timeout(Duration::from_secs(120)).is_ok();
        if got_ready {
            std::thread::sleep(delay);
        }
        child.kill().expect("kill");
        let status = child.wait().expect("wait");
        let output = out.join().expect("stdout reader");
        let stderr = err.join().expect("stderr reader");
        assert!(
            got_ready,
            "{context}: the writer never got ready: {status}\n{stderr}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(
                status.signal(),
                Some(9),
                "{context}: the writer died before the kill: {status}\n{stderr}"
            );
        }
        totals.cut_lines += usize::from(output.cut > 0);
        let round = replay(&output, &mut model, &context);
        runtime.block_on(check(&path, &mut model, round, &mut totals, &context));
    }
    println!(
        "{rounds} kills in {:?}: {totals:?}, {} sessions live at the end",
        started.elapsed(),
        model.len()
    );
    assert!(totals.acknowledged > 0, "the writer acknowledged writes");
}
