//! A fixed number of Flask codec operations, for instruction counts that
//! don't depend on the machine's load (see BENCHMARKS.md):
//!
//! ```text
//! cargo build --release -p websession-core --example codec_ops
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/codec_ops decode typical 2000
//! ```
//!
//! `OP` is `encode`, `decode`, `decode_lazy`, `resign`, `seal`, `open` (the
//! last two through `SealedCodec`) or `setup` (nothing: subtract its count to
//! get the operations' own); `DATA` is `typical` or `large`, the maps of
//! `benches/codec.rs`.

use std::hint::black_box;

use websession_core::{FlaskCodec, Key, KeyRing, SealedCodec};

#[path = "../benches/common/maps.rs"]
mod maps;
use maps::{large, typical};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, op, data, n] = args.as_slice() else {
        return Err("usage: codec_ops OP DATA N".into());
    };
    let n: u64 = n.parse()?;
    let keys = KeyRing::new(Key::from_utf8("a benchmark secret key of 32 b!!")?);
    let codec = FlaskCodec::new(&keys);
    let sealed = SealedCodec::new(&keys, "session")?;
    let data = if data == "large" { large() } else { typical() };
    let ts = 1_700_000_000;
    let cookie = codec.encode(&data, ts);
    let sealed_cookie = sealed.seal(&data, ts, ts);
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
            "seal" => {
                black_box(sealed.seal(black_box(&data), ts, ts));
            }
            "open" => {
                black_box(sealed.open(black_box(&sealed_cookie), ts + 60)?);
            }
            "setup" => {}
            other => return Err(format!("unknown OP {other}").into()),
        }
    }
    Ok(())
}
