//! A fixed number of Flask codec operations, for instruction counts that
//! don't depend on the machine's load (see BENCHMARKS.md):
//!
//! ```text
//! cargo build --release -p websession-core --example codec_ops
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/codec_ops decode typical 2000
//! ```
//!
//! `OP` is `encode`, `decode`, `decode_lazy`, `resign` or `setup` (nothing:
//! subtract its count to get the operations' own); `DATA` is `typical` or
//! `large`, the maps of `benches/codec.rs`.

use std::hint::black_box;

use websession_core::{FlaskCodec, Key, KeyRing, Map, Value};

fn typical() -> Map {
    let mut m = Map::new();
    m.insert("_permanent".into(), Value::Bool(true));
    m.insert(
        "csrf_token".into(),
        Value::from("6f1c0b7e3d2a4f5e9a8b7c6d5e4f3a2b1c0d9e8f"),
    );
    m.insert("user_id".into(), Value::Int(12345));
    m
}

fn large() -> Map {
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, op, data, n] = args.as_slice() else {
        return Err("usage: codec_ops OP DATA N".into());
    };
    let n: u64 = n.parse()?;
    let codec = FlaskCodec::new(&KeyRing::new(Key::from_utf8(
        "a benchmark secret key of 32 b!!",
    )?));
    let data = if data == "large" { large() } else { typical() };
    let ts = 1_700_000_000;
    let cookie = codec.encode(&data, ts);
    for _ in 0..n {
        match op.as_str() {
            "encode" => {
                black_box(codec.encode(black_box(&data), ts));
            }
            "decode" => {
                black_box(codec.decode(black_box(&cookie), ts + 60)?);
            }
            "decode_lazy" => {
                black_box(codec.decode_lazy(black_box(&cookie), ts + 60)?);
            }
            "resign" => {
                let d = codec.decode(black_box(&cookie), ts + 60)?;
                black_box(codec.resign(&d.payload, ts + 60));
            }
            "setup" => {}
            other => return Err(format!("unknown OP {other}").into()),
        }
    }
    Ok(())
}
