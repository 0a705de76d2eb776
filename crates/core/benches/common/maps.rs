//! The session maps the codec benchmark and `examples/codec_ops.rs` measure.

use websession_core::{Map, Value};

/// Three keys, as a logged-in session holds.
pub(crate) fn typical() -> Map {
    let mut m = Map::new();
    m.insert("_permanent".into(), Value::Bool(true));
    m.insert(
        "csrf_token".into(),
        Value::from("6f1c0b7e3d2a4f5e9a8b7c6d5e4f3a2b1c0d9e8f"),
    );
    m.insert("user_id".into(), Value::Int(12345));
    m
}

/// About 2 KB of JSON: a shopping cart with a few dozen lines and some history.
pub(crate) fn large() -> Map {
    let mut m = typical();
    let items: Vec<Value> = (0..24)
        .map(|i| {
            let mut item = Map::new();
            item.insert(
                "sku".into(),
                Value::from(format!("SKU-{:05}", i * 7919 % 100_000)),
            );
            item.insert("qty".into(), Value::Int(1 + i % 3));
            item.insert("price".into(), Value::Float(9.99 + f64::from(i as i32)));
            Value::Dict(item)
        })
        .collect();
    m.insert("cart".into(), Value::List(items));
    m.insert(
        "recent".into(),
        Value::List(
            (0..12)
                .map(|i| Value::from(format!("/products/{}", 1000 + i * 37)))
                .collect(),
        ),
    );
    m
}
