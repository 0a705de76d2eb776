//! The `metrics` feature (issue 18): what a real recorder (metrics-util's
//! `DebuggingRecorder`) receives for cookie rejections, session events and
//! store operations and errors. Compiled with `--features metrics` (CI's full
//! suite builds all features).
#![cfg(feature = "metrics")]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::CompositeKey;
use websession::{SessionConfig, Sessions};

use crate::store_mode::Probe;
use crate::support::{app, keys, send};

type Snapshot = Vec<(
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

fn counter(snapshot: &Snapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    snapshot
        .iter()
        .filter(|(key, ..)| {
            key.key().name() == name
                && labels
                    .iter()
                    .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(n) => *n,
            _ => 0,
        })
        .sum()
}

fn histogram_len(snapshot: &Snapshot, name: &str, op: &str) -> usize {
    snapshot
        .iter()
        .filter(|(key, ..)| {
            key.key().name() == name
                && key
                    .key()
                    .labels()
                    .any(|l| l.key() == "op" && l.value() == op)
        })
        .map(|(.., value)| match value {
            DebugValue::Histogram(v) => v.len(),
            _ => 0,
        })
        .sum()
}

/// Runs `f` on a runtime with `recorder` installed for this thread.
fn recorded(f: impl std::future::Future<Output = ()>) -> Snapshot {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f);
    });
    snapshotter.snapshot().into_vec()
}

#[test]
fn cookie_modes_count_rejections_and_session_events() {
    let snapshot = recorded(async {
        let app = app(Sessions::signed(keys(), SessionConfig::default()));
        let login = send(&app, "/signin/alice", None).await;
        let cookie = format!("session={}", login.cookie_value("session").expect("set"));
        send(&app, "/cycle", Some(&cookie)).await;
        send(&app, "/purge", Some(&cookie)).await;
        send(
            &app,
            "/read",
            Some("session=eyJ4IjoxfQ.ZVPxAA.forged-signature-forged-sig"),
        )
        .await;
    });
    assert_eq!(
        counter(
            &snapshot,
            "websession_sessions_total",
            &[("event", "created"), ("mode", "signed")]
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "websession_sessions_total",
            &[("event", "rotated")]
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "websession_sessions_total",
            &[("event", "purged")]
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "websession_cookies_rejected_total",
            &[("reason", "BadSignature")]
        ),
        1
    );
    // No label carries data or ids.
    for (key, ..) in &snapshot {
        for label in key.key().labels() {
            assert!(!label.value().contains("alice"), "{key:?}");
        }
    }
}

#[test]
fn store_mode_times_operations_and_counts_errors() {
    let store = Arc::new(Probe::default());
    let snapshot = recorded({
        let store = store.clone();
        async move {
            let app = app(Sessions::store(store.clone(), SessionConfig::default()));
            let login = send(&app, "/signin/alice", None).await;
            let cookie = format!("session={}", login.cookie_value("session").expect("set"));
            send(&app, "/set/k/v", Some(&cookie)).await;
            send(&app, "/cycle", Some(&cookie)).await;
            send(&app, "/read", Some("session=not-an-id")).await;
            store.down.store(true, Ordering::SeqCst);
            let down = send(&app, "/read", Some(&cookie)).await;
            assert_eq!(down.status.as_u16(), 503);
        }
    });
    assert_eq!(
        histogram_len(&snapshot, "websession_store_operation_seconds", "create"),
        1
    );
    assert!(histogram_len(&snapshot, "websession_store_operation_seconds", "load") >= 3);
    assert_eq!(
        histogram_len(&snapshot, "websession_store_operation_seconds", "update"),
        1
    );
    assert_eq!(
        histogram_len(&snapshot, "websession_store_operation_seconds", "cycle_id"),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "websession_store_errors_total",
            &[("op", "load"), ("kind", "unavailable")]
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "websession_sessions_total",
            &[("event", "created"), ("mode", "store")]
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "websession_sessions_total",
            &[("event", "rotated"), ("mode", "store")]
        ),
        1
    );
    assert_eq!(
        counter(
            &snapshot,
            "websession_cookies_rejected_total",
            &[("reason", "BadSessionId")]
        ),
        1
    );
}

/// Store loads and saves run in `websession.load` / `websession.save` spans
/// that carry the mode, the outcome and the duration, and no id.
#[test]
fn store_loads_and_saves_have_spans() {
    use std::sync::Mutex;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::Layer;

    #[derive(Default, Clone)]
    struct Spans(Arc<Mutex<Vec<(String, String)>>>);
    struct Fields<'a>(&'a mut String);
    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={:?}", field.name(), value));
        }
    }
    impl<S: tracing::Subscriber> Layer<S> for Spans {
        fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
            let mut fields = String::new();
            attrs.record(&mut Fields(&mut fields));
            let name = attrs.metadata().name().to_owned();
            self.0.lock().expect("lock").push((name, fields));
        }
        fn on_record(&self, _id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
            let mut fields = String::new();
            values.record(&mut Fields(&mut fields));
            self.0.lock().expect("lock").push(("record".into(), fields));
        }
    }

    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let mut cookie_value = String::new();
    // With a single registered dispatcher, tracing-core works out a new
    // callsite's interest from the dispatcher of the thread that hits it
    // first, and caches it: another test's thread (no subscriber) hitting
    // `websession.save` first would hide it from this one for good (about
    // one run in six saw no span at all). A second dispatcher makes every
    // thread ask all of them, this test's included.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::subscriber::with_default(subscriber, || {
        // And callsites other threads registered before now: ask again.
        tracing::callsite::rebuild_interest_cache();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let store = Arc::new(Probe::default());
                let app = app(Sessions::store(store, SessionConfig::default()));
                let login = send(&app, "/signin/alice", None).await;
                cookie_value = login.cookie_value("session").expect("set");
                send(&app, "/read", Some(&format!("session={cookie_value}"))).await;
            });
    });
    let seen = spans.0.lock().expect("lock").clone();
    let text: String = seen.iter().map(|(n, f)| format!("{n}:{f}\n")).collect();
    assert!(
        seen.iter()
            .any(|(n, f)| n == "websession.save" && f.contains("op=\"create\"")),
        "{text}"
    );
    assert!(seen.iter().any(|(n, _)| n == "websession.load"), "{text}");
    assert!(
        text.contains("outcome=\"found\"") && text.contains("outcome=\"ok\""),
        "{text}"
    );
    assert!(text.contains("elapsed_us="), "{text}");
    assert!(
        !text.contains(&cookie_value) && !text.contains("alice"),
        "{text}"
    );
}
