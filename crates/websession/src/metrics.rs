//! What websession reports through the [`metrics`](https://docs.rs/metrics)
//! facade (feature `metrics`); without the feature every call here is empty
//! and compiles away. Names and labels are listed in [`crate::docs::metrics`].
//! No label ever carries session data or ids.

use std::future::Future;
use std::time::Instant;

use websession_core::store::StoreError;

/// A cookie that didn't open, by itsdangerous' name for the reason.
pub(crate) fn cookie_rejected(reason: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("websession_cookies_rejected_total", "reason" => reason).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = reason;
}

/// A session written for the first time (`created`), moved to a new id or
/// cookie (`rotated`), or destroyed by `purge` (`purged`); `mode` is
/// `signed`, `sealed` or `store`.
pub(crate) fn session_event(event: &'static str, mode: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("websession_sessions_total", "event" => event, "mode" => mode).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (event, mode);
}

/// Runs one store operation, timing it: a latency histogram by operation,
/// and errors by operation and kind. The clock is read only when something
/// may see the time: the `metrics` feature, or a subscriber that takes
/// `trace` at all (tracing's global maximum level, not a per-callsite
/// question, so no filter on the event's fields or kind is second-guessed).
pub(crate) async fn store_op<T>(
    op: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    let trace =
        STATIC_MAX_LEVEL >= LevelFilter::TRACE && LevelFilter::current() >= LevelFilter::TRACE;
    let timed = cfg!(feature = "metrics") || trace;
    let started = timed.then(Instant::now);
    let result = call.await;
    let Some(started) = started else {
        return result;
    };
    let elapsed = started.elapsed();
    #[cfg(feature = "metrics")]
    {
        metrics::histogram!("websession_store_operation_seconds", "op" => op)
            .record(elapsed.as_secs_f64());
        if let Err(e) = &result {
            metrics::counter!(
                "websession_store_errors_total",
                "op" => op,
                "kind" => kind_name(e.kind()),
            )
            .increment(1);
        }
    }
    tracing::trace!(
        op,
        elapsed_us = elapsed.as_micros() as u64,
        ok = result.is_ok(),
        "session store operation"
    );
    result
}

#[cfg(feature = "metrics")]
fn kind_name(kind: websession_core::store::StoreErrorKind) -> &'static str {
    use websession_core::store::StoreErrorKind as K;
    match kind {
        K::NotFound => "not_found",
        K::Collision => "collision",
        K::Unavailable => "unavailable",
        K::Corrupt => "corrupt",
        K::Unsupported => "unsupported",
        _ => "backend",
    }
}
