//! The conformance suite every [`SessionStore`] runs (feature `test-util`). (Over 400 lines: one suite, one check per contract rule.)
//!
//! ```text
//! #[tokio::test]
//! async fn conformance() {
//!     websession_core::store::conformance::run(|| async { MyStore::connect().await }).await;
//! }
//! ```
//!
//! Each check uses fresh random ids, so the suite can run against a shared,
//! non-empty database. Times are injected: `now` is the real clock plus
//! offsets, so stores with native expiry (Redis) see sensible deadlines.

mod revocations;
pub use revocations::run_revocations;

use std::future::Future;
use std::sync::Arc;

use super::{ChangeSet, ExpiredDeletion, IdHash, Record, SessionId, SessionStore, StoreErrorKind};
use crate::json::ValueRef;
use crate::testing::{map as data, now};
use crate::value::{Map, Value};

/// Runs every check against stores made by `make` (called once per check).
///
/// # Panics
///
/// On the first check the store fails, with a message naming it.
pub async fn run<S, F, Fut>(make: F)
where
    S: SessionStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    every_value_kind(&make().await).await;
    run_shared_records(make).await;
}

/// Runs every check of [`run`] but one, `every_value_kind` (every
/// websession value kind, each of Flask's tagged JSON tags included, reads
/// back as it was written), for stores that keep their records in another
/// program's format so that program reads them too: websession-python's
/// Flask-Session and Django stores. Those formats can't hold every kind:
/// Django's is plain JSON (no bytes, tuples, datetimes, UUIDs, markup,
/// NaN or integers past 64 bits), and Flask-Session's msgpack (msgspec)
/// has no tuple, UUID or markup and writes them as lists and strings. Such
/// a store checks the kinds its format keeps in its own tests.
///
/// # Panics
///
/// On the first check the store fails, with a message naming it.
pub async fn run_shared_records<S, F, Fut>(make: F)
where
    S: SessionStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    crud(&make().await).await;
    collision(&make().await).await;
    not_found(&make().await).await;
    expiry(&make().await).await;
    cycle(&make().await).await;
    cycle_applies_changes_as_update_does(&make().await).await;
    cycle_onto_a_taken_id_changes_nothing(&make().await).await;
    no_resurrection(&make().await).await;
    users(&make().await).await;
    listing(&make().await).await;
    let store = Arc::new(make().await);
    concurrent_updates(store.clone()).await;
    purge_races_updates(store.clone()).await;
    cycle_races_delete(store.clone()).await;
    delete_others_races_cycles(store).await;
}

async fn crud<S: SessionStore>(store: &S) {
    let (t, id) = (now(), id_of(store));
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        None,
        "unknown ids load as None"
    );
    let record = Record::new(
        data(&[("a", Value::Int(1)), ("b", Value::from("x"))]),
        t,
        t + 3600,
    );
    store.create(&id, &record, t).await.expect("create");
    assert_eq!(
        store.load(&id, t).await.expect("load").expect("live").data,
        record.data,
        "create/load"
    );
    let changes = ChangeSet::touch(t + 7200)
        .with_set("c", Value::Bool(true))
        .with_removed("a");
    store.update(&id, &changes, t).await.expect("update");
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    assert_eq!(
        loaded.data,
        data(&[("b", Value::from("x")), ("c", Value::Bool(true))]),
        "update applies the change set"
    );
    assert_eq!(loaded.expires_at, t + 7200, "update moves the expiry");
    assert_eq!(loaded.created_at, t, "update keeps the creation time");
    store
        .update(
            &id,
            &ChangeSet::touch(t + 7200)
                .with_cleared()
                .with_set("d", Value::Null),
            t,
        )
        .await
        .expect("clear");
    assert_eq!(
        store.load(&id, t).await.expect("load").expect("live").data,
        data(&[("d", Value::Null)]),
        "cleared"
    );
    store.delete(&id).await.expect("delete");
    assert_eq!(store.load(&id, t).await.expect("load"), None, "deleted");
    store
        .delete(&id)
        .await
        .expect("deleting an absent record is not an error");
}

async fn collision<S: SessionStore>(store: &S) {
    let (t, id) = (now(), id_of(store));
    store
        .create(
            &id,
            &Record::new(data(&[("a", Value::Int(1))]), t, t + 60),
            t,
        )
        .await
        .expect("create");
    let err = store
        .create(
            &id,
            &Record::new(data(&[("a", Value::Int(2))]), t, t + 60),
            t,
        )
        .await
        .expect_err("collision");
    assert_eq!(err.kind(), StoreErrorKind::Collision);
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    assert_eq!(
        loaded.data.get("a").map(|v| v.to_value()),
        Some(Value::Int(1)),
        "the first record stays"
    );
}

async fn not_found<S: SessionStore>(store: &S) {
    let (t, id) = (now(), id_of(store));
    let err = store
        .update(
            &id,
            &ChangeSet::touch(t + 60).with_set("a", Value::Int(1)),
            t,
        )
        .await
        .expect_err("nothing to update");
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        None,
        "a failed update creates nothing"
    );
}

async fn expiry<S: SessionStore>(store: &S) {
    let (t, id) = (now(), id_of(store));
    store
        .create(
            &id,
            &Record::new(data(&[("a", Value::Int(1))]), t, t + 100),
            t,
        )
        .await
        .expect("create");
    assert!(
        store.load(&id, t + 99).await.expect("load").is_some(),
        "live before expiry"
    );
    assert_eq!(
        store.load(&id, t + 100).await.expect("load"),
        None,
        "hidden at expiry, before any cleanup"
    );
    let err = store
        .update(&id, &ChangeSet::touch(t + 500), t + 101)
        .await
        .expect_err("expired");
    assert_eq!(
        err.kind(),
        StoreErrorKind::NotFound,
        "an expired record is not extended"
    );
    // An expired id can be created again.
    store
        .create(
            &id,
            &Record::new(data(&[("b", Value::Int(2))]), t + 101, t + 200),
            t + 101,
        )
        .await
        .expect("re-create");
    assert_eq!(
        store
            .load(&id, t + 150)
            .await
            .expect("load")
            .expect("live")
            .data,
        data(&[("b", Value::Int(2))])
    );
}

/// The check of [`ExpiredDeletion`], for stores that implement it (run it
/// beside [`run`]).
///
/// # Panics
///
/// When the store keeps an expired record or deletes a live one.
pub async fn run_expired_deletion<S: ExpiredDeletion>(store: &S) {
    let (t, live, dead) = (now(), id_of(store), id_of(store));
    store
        .create(
            &live,
            &Record::new(data(&[("a", Value::Int(1))]), t, t + 1000),
            t,
        )
        .await
        .expect("create");
    store
        .create(
            &dead,
            &Record::new(data(&[("a", Value::Int(1))]), t, t + 10),
            t,
        )
        .await
        .expect("create");
    let deleted = store.delete_expired(t + 20).await.expect("delete_expired");
    assert!(
        store.load(&live, t + 20).await.expect("load").is_some(),
        "cleanup keeps live records"
    );
    // `load` hides expired records anyway; asking at a time when `dead`
    // was still live shows whether the row is really gone.
    assert!(deleted >= 1, "delete_expired reports what it deleted");
    assert_eq!(
        store.load(&dead, t).await.expect("load"),
        None,
        "the expired row was deleted"
    );
    assert!(store.load(&live, t).await.expect("load").is_some());
}

// Each check below is one scenario read top to bottom, so some run long.
async fn cycle<S: SessionStore>(store: &S) {
    let (t, old, new) = (now(), id_of(store), id_of(store));
    let record = Record::new(
        data(&[("user_id", Value::Int(7)), ("gone", Value::Int(1))]),
        t,
        t + 600,
    );
    store.create(&old, &record, t).await.expect("create");
    let changes = ChangeSet::touch(t + 900)
        .with_set("csrf", Value::Str("fresh".into()))
        .with_removed("gone")
        .with_user(Some("u-cycle".into()));
    store
        .cycle_id(&old, &new, &changes, t)
        .await
        .expect("cycle");
    assert_eq!(
        store.load(&old, t).await.expect("load"),
        None,
        "the old id is dead"
    );
    let moved = store.load(&new, t).await.expect("load").expect("live");
    assert_eq!(
        (
            moved.data.to_map(),
            moved.created_at,
            moved.expires_at,
            moved.user
        ),
        (
            data(&[
                ("csrf", Value::Str("fresh".into())),
                ("user_id", Value::Int(7))
            ]),
            t,
            t + 900,
            Some("u-cycle".into())
        ),
        "the same record under the new id, with the request's changes applied in the same step"
    );
    let err = store
        .cycle_id(&old, &id_of(store), &ChangeSet::touch(t + 600), t)
        .await
        .expect_err("old is gone");
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    let taken = id_of(store);
    store
        .create(&taken, &Record::new(Map::new(), t, t + 600), t)
        .await
        .expect("create");
    let err = store
        .cycle_id(
            &new,
            &taken,
            &ChangeSet::touch(t + 600).with_set("x", Value::Int(1)),
            t,
        )
        .await
        .expect_err("new is taken");
    assert_eq!(err.kind(), StoreErrorKind::Collision);
    let kept = store.load(&new, t).await.expect("load").expect("live");
    assert!(
        !kept.data.contains_key("x") && kept.expires_at == t + 900,
        "a failed cycle changes nothing"
    );
    assert_eq!(
        store.delete_all_for("u-cycle").await.expect("revoke"),
        1,
        "the cycled session is indexed under its new user"
    );
    assert_eq!(store.load(&new, t).await.expect("load"), None);
}

/// `cycle_id` applies a change set exactly as `update` does (and as
/// [`Record::apply`] spells it): same data, expiry and user on twin records.
async fn cycle_applies_changes_as_update_does<S: SessionStore>(store: &S) {
    let t = now();
    let record = Record::new(
        data(&[
            ("a", Value::Int(1)),
            ("b", Value::Int(2)),
            ("c", Value::Int(3)),
        ]),
        t,
        t + 600,
    )
    .with_user(Some(format!(
        "u-twin-{}",
        &SessionId::generate().as_str()[..8]
    )));
    let change_sets = [
        ChangeSet::touch(t + 700),
        ChangeSet::touch(t + 800)
            .with_removed("a")
            .with_set("b", Value::from("two"))
            .with_set("d", Value::List(vec![Value::Null])),
        ChangeSet::touch(t + 900)
            .with_cleared()
            .with_set("e", Value::Bool(true))
            .with_user(None),
        ChangeSet::touch(t + 1000).with_user(Some("bob".into())),
    ];
    for changes in &change_sets {
        let (twin, old, new) = (id_of(store), id_of(store), id_of(store));
        store.create(&twin, &record, t).await.expect("create");
        store.create(&old, &record, t).await.expect("create");
        store.update(&twin, changes, t).await.expect("update");
        store.cycle_id(&old, &new, changes, t).await.expect("cycle");
        let updated = store.load(&twin, t).await.expect("load").expect("live");
        let mut expected = record.clone();
        expected.apply(changes);
        assert_eq!(updated, expected, "update follows Record::apply");
        assert_eq!(
            store.load(&new, t).await.expect("load"),
            Some(updated),
            "cycle_id applies {changes:?} as update does"
        );
        assert_eq!(store.load(&old, t).await.expect("load"), None);
    }
}

/// A `cycle_id` onto a live id fails with `Collision` and changes neither
/// record.
async fn cycle_onto_a_taken_id_changes_nothing<S: SessionStore>(store: &S) {
    let t = now();
    let (old, taken) = (id_of(store), id_of(store));
    let record = Record::new(data(&[("a", Value::Int(1))]), t, t + 600).with_user(Some(format!(
        "u-taken-{}",
        &SessionId::generate().as_str()[..8]
    )));
    let other = Record::new(data(&[("z", Value::Int(26))]), t, t + 300);
    store.create(&old, &record, t).await.expect("create");
    store.create(&taken, &other, t).await.expect("create");
    let changes = ChangeSet::touch(t + 900)
        .with_cleared()
        .with_set("c", Value::Int(3))
        .with_user(None);
    let err = store
        .cycle_id(&old, &taken, &changes, t)
        .await
        .expect_err("taken");
    assert_eq!(err.kind(), StoreErrorKind::Collision, "{err:?}");
    assert_eq!(store.load(&old, t).await.expect("load"), Some(record));
    assert_eq!(store.load(&taken, t).await.expect("load"), Some(other));
}

/// `cycle_id` racing `delete` of the old id, many times: a cycle that
/// reports the old id gone leaves nothing under the new id, and one that
/// succeeds leaves the old id dead. A smoke test: the interleaving that
/// matters for multi-step backends (the delete landing between their copy
/// and their delete) is rarely hit this way, so such backends test it
/// deterministically themselves (see the Redis Cluster tests).
async fn cycle_races_delete<S: SessionStore>(store: Arc<S>) {
    let t = now();
    for round in 0..50 {
        let (old, new) = (id_of(&*store), id_of(&*store));
        let record = Record::new(data(&[("n", Value::Int(round))]), t, t + 600);
        store.create(&old, &record, t).await.expect("create");
        let cycler = {
            let store = store.clone();
            tokio::spawn(async move {
                let changes = ChangeSet::touch(t + 600).with_set("m", Value::Int(1));
                store.cycle_id(&old, &new, &changes, t).await
            })
        };
        let deleter = {
            let store = store.clone();
            tokio::spawn(async move { store.delete(&old).await })
        };
        let cycled = cycler.await.expect("task");
        deleter.await.expect("task").expect("delete");
        // The delete always removes the session; if it ran first the cycle
        // must fail, if it ran second it removed the old id after the move,
        // so the caller (the engine) sees the move as done. Either way a
        // delete of `old` that the cycle did not see must leave `new` empty.
        match cycled {
            Err(e) => {
                assert_eq!(e.kind(), StoreErrorKind::NotFound, "round {round}");
                assert_eq!(
                    store.load(&new, t).await.expect("load"),
                    None,
                    "round {round}: a cycle that lost the race to a delete resurrects nothing"
                );
            }
            Ok(()) => {
                assert_eq!(store.load(&old, t).await.expect("load"), None);
            }
        }
    }
}

/// `delete_others_of` racing a session that is cycled to fresh ids in a
/// loop (every login cycles the id), many times: the
/// session is deleted under whichever id it has, and never survives under
/// a new one (issue 25: a stolen cookie on an app that rotates ids must not
/// outrun "log out my other sessions"). The trait's default, a listing and
/// then one `delete` per id, fails this: a cycle between the two leaves the
/// session alive under its new id.
async fn delete_others_races_cycles<S: SessionStore>(store: Arc<S>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const ROUNDS: i64 = 50;
    const CYCLES: i64 = 200;
    let t = now();
    for round in 0..ROUNDS {
        let user = format!("user-race-{}", &SessionId::generate().as_str()[..12]);
        let (keep, first) = (id_of(&*store), id_of(&*store));
        let record = Record::new(data(&[("n", Value::Int(round))]), t, t + 600)
            .with_user(Some(user.clone()));
        store.create(&keep, &record, t).await.expect("create");
        store.create(&first, &record, t).await.expect("create");
        let cycled = Arc::new(AtomicUsize::new(0));
        // Cycles from the last id it made until that id is gone (or CYCLES
        // times); returns the last id it made and the one it failed to make.
        let cycler = {
            let (store, cycled) = (store.clone(), cycled.clone());
            tokio::spawn(async move {
                let mut current = first;
                for i in 0..CYCLES {
                    let next = id_of(&*store);
                    let changes = ChangeSet::touch(t + 600).with_set("cycle", Value::Int(i));
                    match store.cycle_id(&current, &next, &changes, t).await {
                        Ok(()) => current = next,
                        Err(e) if e.kind() == StoreErrorKind::NotFound => {
                            return (current, Some(next))
                        }
                        Err(e) => panic!("round {round}: cycle_id: {e:?}"),
                    }
                    cycled.fetch_add(1, Ordering::SeqCst);
                }
                (current, None)
            })
        };
        // Once the session has moved at least once, log out the others
        // while it keeps moving.
        while cycled.load(Ordering::SeqCst) == 0 && !cycler.is_finished() {
            tokio::task::yield_now().await;
        }
        let deleted = store
            .delete_others_of(&user, &keep, t)
            .await
            .expect("delete_others_of");
        let (last, failed) = cycler.await.expect("cycler");
        let left: Vec<IdHash> = store
            .sessions_of(&user, t)
            .await
            .expect("sessions_of")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            left,
            vec![keep],
            "round {round}: only `keep` is left; a session cycled during \
             delete_others_of survived under a new id (after {} cycles)",
            cycled.load(Ordering::SeqCst)
        );
        assert_eq!(
            store.load(&last, t).await.expect("load"),
            None,
            "round {round}: the last id the cycler made is dead"
        );
        if let Some(failed) = failed {
            assert_eq!(
                store.load(&failed, t).await.expect("load"),
                None,
                "round {round}: a cycle that found its id gone made nothing"
            );
        }
        // One session; a store that copies before it retires the old id (a
        // Redis Cluster) may count both copies of one caught mid-move.
        assert!(
            deleted >= 1,
            "round {round}: delete_others_of reports the cycled session ({deleted})"
        );
        store.delete(&keep).await.expect("delete");
    }
}

async fn no_resurrection<S: SessionStore>(store: &S) {
    let (t, id) = (now(), id_of(store));
    store
        .create(
            &id,
            &Record::new(data(&[("a", Value::Int(1))]), t, t + 600),
            t,
        )
        .await
        .expect("create");
    let _loaded = store.load(&id, t).await.expect("load"); // a request loads it...
    store.delete(&id).await.expect("delete"); // ...the user logs out in another...
    let err = store
        .update(
            &id,
            &ChangeSet::touch(t + 600).with_set("b", Value::Int(2)),
            t,
        )
        .await
        .expect_err("gone");
    assert_eq!(err.kind(), StoreErrorKind::NotFound);
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        None,
        "...and the first one can't bring it back"
    );
}

async fn users<S: SessionStore>(store: &S) {
    let t = now();
    let user = format!("user-{}", &SessionId::generate().as_str()[..12]);
    let (a, b, other) = (id_of(store), id_of(store), id_of(store));
    store
        .create(
            &a,
            &Record::new(Map::new(), t, t + 600).with_user(Some(user.clone())),
            t,
        )
        .await
        .expect("create");
    store
        .create(&b, &Record::new(Map::new(), t, t + 600), t)
        .await
        .expect("create");
    store
        .update(
            &b,
            &ChangeSet::touch(t + 600).with_user(Some(user.clone())),
            t,
        )
        .await
        .expect("set user");
    store
        .create(
            &other,
            &Record::new(Map::new(), t, t + 600).with_user(Some("someone else".into())),
            t,
        )
        .await
        .expect("c");
    assert_eq!(
        store.delete_all_for(&user).await.expect("delete_all_for"),
        2
    );
    assert_eq!(store.load(&a, t).await.expect("load"), None);
    assert_eq!(store.load(&b, t).await.expect("load"), None);
    assert!(
        store.load(&other, t).await.expect("load").is_some(),
        "other users keep their sessions"
    );
}

/// `sessions_of` lists a user's live sessions (not expired ones, not other
/// users'), follows `cycle_id`, `set_user` and `delete`; `delete_others_of`
/// keeps the one asked for.
async fn listing<S: SessionStore>(store: &S) {
    let t = now();
    let user = format!("user-{}", &SessionId::generate().as_str()[..12]);
    let mine = |k: &str| {
        Record::new(data(&[("ua", Value::from(k))]), t, t + 600).with_user(Some(user.clone()))
    };
    let (a, b, c, expired, other) = (
        id_of(store),
        id_of(store),
        id_of(store),
        id_of(store),
        id_of(store),
    );
    for (id, ua) in [(&a, "phone"), (&b, "laptop"), (&c, "tablet")] {
        store.create(id, &mine(ua), t).await.expect("create");
    }
    let mut old = mine("old");
    // Five seconds, not one: on Redis it is a real TTL, and a loaded
    // machine may take more than a second to reach the first listing.
    old.expires_at = t + 5;
    store.create(&expired, &old, t).await.expect("create");
    store
        .create(
            &other,
            &Record::new(Map::new(), t, t + 600).with_user(Some(format!("{user}-2"))),
            t,
        )
        .await
        .expect("create");
    let sorted = |mut v: Vec<(IdHash, String)>| {
        v.sort();
        v
    };
    assert_eq!(
        listed(store, &user, t).await,
        sorted(vec![
            (a, "phone".into()),
            (b, "laptop".into()),
            (c, "tablet".into()),
            (expired, "old".into())
        ]),
        "every live session of the user, nobody else's"
    );
    assert_eq!(
        listed(store, &user, t + 6).await,
        sorted(vec![
            (a, "phone".into()),
            (b, "laptop".into()),
            (c, "tablet".into())
        ]),
        "expired sessions are not listed"
    );
    let moved = id_of(store);
    store
        .cycle_id(&c, &moved, &ChangeSet::touch(t + 600), t + 6)
        .await
        .expect("cycle");
    store
        .update(&b, &ChangeSet::touch(t + 600).with_user(None), t + 6)
        .await
        .expect("log out");
    assert_eq!(
        listed(store, &user, t + 6).await,
        sorted(vec![(a, "phone".into()), (moved, "tablet".into())]),
        "a cycled id is listed under its new id; a session without the user is gone"
    );
    assert_eq!(
        store
            .delete_others_of(&user, &a, t + 6)
            .await
            .expect("delete_others_of"),
        1
    );
    assert_eq!(listed(store, &user, t + 6).await, vec![(a, "phone".into())]);
    assert!(store.load(&moved, t + 6).await.expect("load").is_none());
    assert!(store.load(&other, t + 6).await.expect("load").is_some());
    assert!(store
        .sessions_of("nobody-at-all", t)
        .await
        .expect("empty")
        .is_empty());
}

/// `user`'s sessions at `at` as (id, the `ua` value), sorted.
async fn listed<S: SessionStore>(store: &S, user: &str, at: u64) -> Vec<(IdHash, String)> {
    let mut found: Vec<(IdHash, String)> = store
        .sessions_of(user, at)
        .await
        .expect("sessions_of")
        .into_iter()
        .map(|(id, r)| {
            assert_eq!(r.user.as_deref(), Some(user));
            let ua = match r.data.get("ua").map(ValueRef::to_value) {
                Some(Value::Str(s)) => s,
                v => panic!("the data comes along: {v:?}"),
            };
            (id, ua)
        })
        .collect();
    found.sort();
    found
}

async fn every_value_kind<S: SessionStore>(store: &S) {
    let (t, id) = (now(), id_of(store));
    let text = r#"{"big":18446744073709551621,"by":{" b":"AAEC"},"d":{" d":"Sat, 01 Jan 2000 00:00:00 GMT"},"f":1e-07,"nan":NaN,"s":"é\ud800","t":{" t":[1,"a"]},"u":{" u":"00000000000000000000000000000001"},"' OR 1=1; --":{" di":{" t__":[]}}}"#;
    let Ok(Value::Dict(map)) = crate::json::parse_value(text.as_bytes()) else {
        panic!("fixture parses")
    };
    store
        .create(&id, &Record::new(map.clone(), t, t + 600), t)
        .await
        .expect("create");
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    let (mut a, mut b) = (String::new(), String::new());
    crate::json::write_map(&mut a, &loaded.data.to_map());
    crate::json::write_map(&mut b, &map);
    assert_eq!(a, b, "every tagged value kind survives the store");
}

async fn concurrent_updates<S: SessionStore>(store: Arc<S>) {
    let (t, id) = (now(), id_of(&*store));
    store
        .create(&id, &Record::new(Map::new(), t, t + 600), t)
        .await
        .expect("create");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let changes =
                    ChangeSet::touch(t + 600).with_set(format!("key{i:02}"), Value::Int(i));
                store
                    .update(&id, &changes, t)
                    .await
                    .expect("concurrent update");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let loaded = store.load(&id, t).await.expect("load").expect("live");
    assert_eq!(
        loaded.data.len(),
        50,
        "50 concurrent updates of different keys: none lost"
    );
}

async fn purge_races_updates<S: SessionStore>(store: Arc<S>) {
    let (t, id) = (now(), id_of(&*store));
    store
        .create(
            &id,
            &Record::new(data(&[("a", Value::Int(0))]), t, t + 600),
            t,
        )
        .await
        .expect("create");
    let updates: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let _ = store
                    .update(
                        &id,
                        &ChangeSet::touch(t + 600).with_set(format!("k{i}"), Value::Int(i)),
                        t,
                    )
                    .await;
            })
        })
        .collect();
    store.delete(&id).await.expect("purge");
    for task in updates {
        task.await.expect("task");
    }
    assert_eq!(
        store.load(&id, t).await.expect("load"),
        None,
        "the purge wins over racing updates"
    );
}

/// A fresh key in the store's own id format (websession's ids are hashed;
/// a Python bridge's are raw).
fn id_of<S: SessionStore + ?Sized>(store: &S) -> IdHash {
    let format = store.id_format();
    format.key(&format.generate())
}
