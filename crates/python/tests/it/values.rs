//! The value kinds each Python format keeps (what `run_shared_records`
//! leaves out): each goes through the store and comes back equal; kinds a
//! format writes as another (a tuple as a list) come back as that.

#![cfg(feature = "sqlite")]

use time::macros::datetime;
use websession_core::store::{Record, SessionStore};
use websession_core::testing::now;
use websession_core::{Map, Value};
use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore, Serialization};

use crate::support::new_id;
use crate::support::sqlite::TempDb;

/// `data` written as a new session and read back.
async fn round_trip<S: SessionStore>(store: &S, data: &Map) -> Map {
    let (t, (_, key)) = (now(), new_id(store));
    store
        .create(&key, &Record::new(data.clone(), t, t + 600), t)
        .await
        .expect("create");
    store
        .load(&key, t)
        .await
        .expect("load")
        .expect("live")
        .data
        .into_map()
}

/// What every format keeps: JSON's kinds, nested, and text beyond ASCII.
fn json_kinds() -> Map {
    let mut inner = Map::new();
    inner.insert("k".into(), Value::Null);
    inner.insert("deeper".into(), Value::List(vec![Value::Dict(Map::new())]));
    let mut data = Map::new();
    data.insert("null".into(), Value::Null);
    data.insert("true".into(), Value::Bool(true));
    data.insert("false".into(), Value::Bool(false));
    data.insert("int".into(), Value::Int(-42));
    data.insert("min".into(), Value::Int(i64::MIN));
    data.insert("max".into(), Value::Int(i64::MAX));
    data.insert("float".into(), Value::Float(1.5));
    data.insert("small".into(), Value::Float(-1e-7));
    data.insert("text".into(), Value::from("é 😀 \"quoted\" \\ </script>"));
    data.insert("empty".into(), Value::from(""));
    data.insert(
        "list".into(),
        Value::List(vec![Value::Int(1), Value::from("a"), Value::List(vec![])]),
    );
    data.insert("dict".into(), Value::Dict(inner));
    data.insert("' OR 1=1; --".into(), Value::from("a key that is SQL"));
    data
}

#[tokio::test]
async fn flask_session_msgpack_keeps_bytes_and_aware_datetimes() {
    let db = TempDb::new();
    let store = FlaskSessionStore::sqlite(&db.0, FlaskSessionOptions::new())
        .await
        .expect("open");
    let mut data = json_kinds();
    data.insert("bytes".into(), Value::Bytes(vec![0, 1, 0xfe, 0xff]));
    data.insert(
        "when".into(),
        Value::DateTime(datetime!(2024-01-02 03:04:05 UTC)),
    );
    assert_eq!(round_trip(&store, &data).await, data);
    // msgpack has no tuple: msgspec writes it as an array, Python reads a list.
    let mut tuple = Map::new();
    tuple.insert(
        "t".into(),
        Value::Tuple(vec![Value::Int(1), Value::from("x")]),
    );
    assert_eq!(
        round_trip(&store, &tuple).await["t"],
        Value::List(vec![Value::Int(1), Value::from("x")])
    );
}

#[tokio::test]
async fn flask_session_json_keeps_jsons_kinds() {
    let db = TempDb::new();
    let options = FlaskSessionOptions::new().with_serialization(Serialization::Json);
    let store = FlaskSessionStore::sqlite(&db.0, options)
        .await
        .expect("open");
    let data = json_kinds();
    assert_eq!(round_trip(&store, &data).await, data);
}

#[tokio::test]
async fn django_keeps_jsons_kinds() {
    let db = TempDb::new();
    let store = db.django("django_session").await;
    let data = json_kinds();
    assert_eq!(round_trip(&store, &data).await, data);
}
