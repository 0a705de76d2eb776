//! One in-process `GET /` through axum with and without the session layer,
//! in the same run: the cost websession adds to a request.
//!
//! ```text
//! cargo bench -p websession --bench request
//! ```

#![allow(missing_docs)] // criterion_group! generates undocumented items
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use tower::{Service, ServiceExt};
use websession::{Key, KeyRing, Map, Session, SessionConfig, SessionManagerLayer, Sessions, Value};

async fn bare() -> &'static str {
    "I do not know your pet's name."
}

async fn with_session(session: Session) -> String {
    match session.get::<String>("pet_name") {
        Ok(Some(name)) => format!("Your pet's name is {name}."),
        _ => "I do not know your pet's name.".to_owned(),
    }
}

/// Benchmarks `GET /` with each case's cookie, one function per case.
fn get_root<const N: usize>(
    c: &mut Criterion,
    group: &str,
    rt: &tokio::runtime::Runtime,
    cases: [(&str, Router, String); N],
) {
    let mut group = c.benchmark_group(group);
    for (name, app, cookie) in cases {
        let mut svc = app.into_service::<Body>();
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let req = Request::get("/")
                        .header("cookie", &cookie)
                        .body(Body::empty())
                        .expect("req");
                    let svc = svc.ready().await.expect("ready");
                    svc.call(req).await.expect("infallible")
                })
            })
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let key = Key::from_utf8("a benchmark secret key of 32 b!!").expect("key");
    let keys = KeyRing::new(key);
    let mut data = Map::new();
    data.insert("pet_name".into(), Value::from("Rex"));
    let codec = websession_core::FlaskCodec::new(&keys);
    let now = websession_core::unix_seconds(time::OffsetDateTime::now_utc());
    let cookie = format!("session={}", codec.encode(&data, now));

    let bare_app = Router::new().route("/", get(bare));
    let non_permanent =
        Router::new()
            .route("/", get(with_session))
            .layer(SessionManagerLayer::new(
                Sessions::signed(keys.clone(), SessionConfig::flask()).expect("valid"),
            ));
    let sealing = websession_core::SealedCodec::new(&keys, "session").expect("codec");
    let sealed_cookie = format!("session={}", sealing.seal(&data, now, now));
    let sealed = Router::new()
        .route("/", get(with_session))
        .layer(SessionManagerLayer::new(
            Sessions::sealed(keys.clone(), SessionConfig::default()).expect("valid"),
        ));
    data.insert("_permanent".into(), Value::Bool(true));
    let permanent_cookie = format!("session={}", codec.encode(&data, now));
    let permanent_interval =
        Router::new()
            .route("/", get(with_session))
            .layer(SessionManagerLayer::new(
                Sessions::signed(keys.clone(), SessionConfig::default()).expect("valid"),
            ));

    let cases = [
        ("bare_axum", bare_app, cookie.clone()),
        ("signed_read", non_permanent.clone(), cookie.clone()),
        (
            "signed_read_permanent_refresh",
            non_permanent,
            permanent_cookie.clone(),
        ),
        // The default refresh interval: a fresh permanent cookie isn't re-issued.
        (
            "signed_read_permanent_interval",
            permanent_interval,
            permanent_cookie,
        ),
        ("sealed_read", sealed, sealed_cookie),
    ];
    get_root(c, "get_root", &rt, cases);
}

/// Revocation's cost on a signed `GET /`: the plain cookie; a revocable
/// cookie (session id, user, generation) with a warm cache (no store call);
/// and cold (staleness 0: the store is asked on every request; here an
/// in-process `MemoryRevocations`, so a network store adds its round trip).
fn revocation(c: &mut Criterion) {
    use websession::store::{MemoryRevocations, SessionId};
    use websession::Revocation;

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let keys = KeyRing::new(Key::from_utf8("a benchmark secret key of 32 b!!").expect("key"));
    let codec = websession_core::FlaskCodec::new(&keys);
    let now = websession_core::unix_seconds(time::OffsetDateTime::now_utc());
    let mut data = Map::new();
    data.insert("pet_name".into(), Value::from("Rex"));
    let plain_cookie = format!("session={}", codec.encode(&data, now));
    data.insert(
        "_ws_sid".into(),
        Value::from(SessionId::generate().as_str()),
    );
    data.insert("_ws_user".into(), Value::from("alice"));
    data.insert("_ws_gen".into(), Value::Int(0));
    let revocable_cookie = format!("session={}", codec.encode(&data, now));

    let app = |revocation: Option<Revocation>| {
        let mut sessions = Sessions::signed(keys.clone(), SessionConfig::flask()).expect("valid");
        if let Some(revocation) = revocation {
            sessions = sessions.with_revocation(revocation);
        }
        Router::new()
            .route("/", get(with_session))
            .layer(SessionManagerLayer::new(sessions))
    };
    let warm = Revocation::new(MemoryRevocations::new());
    let cold = Revocation::new(MemoryRevocations::new()).with_staleness(std::time::Duration::ZERO);
    let cases = [
        ("signed_read", app(None), plain_cookie),
        (
            "signed_read_revocable_warm",
            app(Some(warm)),
            revocable_cookie.clone(),
        ),
        (
            "signed_read_revocable_cold",
            app(Some(cold)),
            revocable_cookie,
        ),
    ];
    get_root(c, "revocation", &rt, cases);
}

criterion_group!(benches, bench, revocation);
criterion_main!(benches);
