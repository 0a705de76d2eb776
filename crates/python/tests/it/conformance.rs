//! Core's conformance suite (every check but the value kinds a Python
//! format can't keep: `run_shared_records`) for every product x backend.

#![cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]

use websession_core::store::conformance::run_shared_records;
use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};

#[cfg(feature = "sqlite")]
mod sqlite {
    use websession_core::store::conformance::run_expired_deletion;
    use websession_python::flask_session::Serialization;

    use super::*;
    use crate::support::sqlite::TempDb;

    async fn flask(serialization: Serialization) {
        let db = TempDb::new();
        let options = FlaskSessionOptions::new().with_serialization(serialization);
        let make = || async {
            FlaskSessionStore::sqlite(&db.0, options.clone())
                .await
                .expect("open")
        };
        run_shared_records(make).await;
        run_expired_deletion(&make().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flask_session_msgpack_on_sqlite() {
        flask(Serialization::Msgpack).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flask_session_json_on_sqlite() {
        flask(Serialization::Json).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn django_on_sqlite() {
        let db = TempDb::new();
        run_shared_records(|| db.django("django_session")).await;
        run_expired_deletion(&db.django("django_session").await).await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use websession_core::store::conformance::run_expired_deletion;

    use super::*;
    use crate::support::postgres::{url, TempTable};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL"]
    async fn flask_session_on_postgres() {
        let table = TempTable::new("sessions");
        let options = FlaskSessionOptions::new().with_table(&table.0);
        let make = || async {
            FlaskSessionStore::postgres(&url(), options.clone())
                .await
                .expect("connect")
        };
        run_shared_records(make).await;
        run_expired_deletion(&make().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL"]
    async fn django_on_postgres() {
        let table = TempTable::new("django_session");
        run_shared_records(|| table.django()).await;
        run_expired_deletion(&table.django().await).await;
    }
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis"]
async fn flask_session_on_redis() {
    // Redis expires records itself: no `run_expired_deletion`.
    let url = std::env::var("REDIS_URL").expect("REDIS_URL");
    let options =
        FlaskSessionOptions::new().with_key_prefix(format!("it-{}:", crate::support::unique()));
    run_shared_records(|| async {
        FlaskSessionStore::redis(&url, options.clone())
            .await
            .expect("connect")
    })
    .await;
}
