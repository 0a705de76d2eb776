//! The suite every [`RevocationStore`] runs.

use std::sync::Arc;

use crate::store::{IdHash, RevocationStore};
use crate::testing::{id, now};

/// Runs every check of the revocation contract against `store`.
///
/// Users and ids are fresh and random, so the suite can run against a
/// shared, non-empty database, and twice against the same one.
///
/// # Panics
///
/// On the first rule the store breaks, with a message naming it.
pub async fn run_revocations<R: RevocationStore>(store: R) {
    let store = Arc::new(store);
    generations(&*store).await;
    denials(&*store).await;
    deleting_expired_denials(&*store).await;
    user_names(&*store).await;
    concurrent_bumps(store).await;
}

/// A user id no other run uses.
fn fresh_user(label: &str) -> String {
    format!("{label}-{}", hex(&id()))
}

fn hex(id: &IdHash) -> String {
    id.as_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn generations<R: RevocationStore>(store: &R) {
    let (alice, bob, session) = (fresh_user("alice"), fresh_user("bob"), id());
    assert_eq!(
        store.generation(&alice).await.expect("generation"),
        0,
        "a new user is at 0"
    );
    let verdict = store
        .check(Some(&alice), &session, now())
        .await
        .expect("check");
    assert_eq!(verdict.generation, Some(0), "check reads the generation");
    assert!(!verdict.denied, "a new id is not denied");
    assert_eq!(
        store
            .check(None, &session, now())
            .await
            .expect("check")
            .generation,
        None,
        "no user asked, no generation"
    );
    assert_eq!(
        store.bump_generation(&alice).await.expect("bump"),
        1,
        "a bump returns the new generation"
    );
    assert_eq!(store.bump_generation(&alice).await.expect("bump"), 2);
    assert_eq!(
        store.generation(&alice).await.expect("generation"),
        2,
        "bumps persist"
    );
    assert_eq!(
        store
            .check(Some(&alice), &session, now())
            .await
            .expect("check")
            .generation,
        Some(2)
    );
    assert_eq!(
        store.generation(&bob).await.expect("generation"),
        0,
        "another user is untouched"
    );
}

async fn denials<R: RevocationStore>(store: &R) {
    let (t, a, b) = (now(), id(), id());
    store.deny(&a, t + 600).await.expect("deny");
    assert!(
        store.check(None, &a, t).await.expect("check").denied,
        "a denied id is denied"
    );
    assert!(
        store.check(None, &a, t + 599).await.expect("check").denied,
        "until its time"
    );
    assert!(
        !store.check(None, &a, t + 600).await.expect("check").denied,
        "and no longer at it"
    );
    assert!(
        !store.check(None, &b, t).await.expect("check").denied,
        "another id is not"
    );
    // Denied again with an earlier time: the later one stands.
    store.deny(&a, t + 300).await.expect("deny again");
    assert!(
        store.check(None, &a, t + 450).await.expect("check").denied,
        "the later time stands"
    );
    // Denied again with a later time: extended.
    store.deny(&a, t + 900).await.expect("deny later");
    assert!(
        store.check(None, &a, t + 800).await.expect("check").denied,
        "extended"
    );
    let user = fresh_user("carol");
    let both = store.check(Some(&user), &a, t).await.expect("check");
    assert_eq!(
        (both.generation, both.denied),
        (Some(0), true),
        "both facts in one check"
    );
}

async fn deleting_expired_denials<R: RevocationStore>(store: &R) {
    let (t, gone, kept) = (now(), id(), id());
    store.deny(&gone, t + 10).await.expect("deny");
    store.deny(&kept, t + 1000).await.expect("deny");
    let deleted = store
        .delete_expired_denials(t + 10)
        .await
        .expect("delete expired");
    // Other runs' entries may go too (a shared database), never a live one.
    assert!(
        deleted >= 1 || !store.check(None, &gone, t).await.expect("check").denied,
        "an entry whose time has passed is deleted (or gone by itself)"
    );
    assert!(
        !store.check(None, &gone, t).await.expect("check").denied,
        "a deleted entry no longer counts"
    );
    assert!(
        store
            .check(None, &kept, t + 10)
            .await
            .expect("check")
            .denied,
        "a live entry stays"
    );
}

async fn user_names<R: RevocationStore>(store: &R) {
    for label in ["é ünïcode 名前", "a:b{c}d", "with space", "'quote\"", "0"] {
        let user = fresh_user(label);
        assert_eq!(
            store.bump_generation(&user).await.expect("bump"),
            1,
            "user {label:?}"
        );
        assert_eq!(
            store.generation(&user).await.expect("generation"),
            1,
            "user {label:?}"
        );
        // A prefix of it is another user.
        assert_eq!(
            store
                .generation(&user[..user.len() - 1])
                .await
                .expect("generation"),
            0
        );
    }
}

async fn concurrent_bumps<R: RevocationStore>(store: Arc<R>) {
    let user = fresh_user("dave");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, user) = (store.clone(), user.clone());
            tokio::spawn(async move { store.bump_generation(&user).await.expect("bump") })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.expect("task"));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<u64>>(),
        "20 concurrent bumps: each sees its own value"
    );
    assert_eq!(store.generation(&user).await.expect("generation"), 20);
}
