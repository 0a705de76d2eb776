//! Encode and decode of Flask cookies next to the raw HMAC-SHA1 of the same
//! bytes, measured in the same run.
//!
//! ```text
//! cargo bench -p websession-core --bench codec
//! ```

#![allow(missing_docs)] // criterion_group! generates undocumented items
use std::hint::black_box;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use websession_core::flask::derive_key;
use websession_core::{Compression, FlaskCodec, Key, KeyRing, SealedCodec};

#[path = "common/maps.rs"]
mod maps;
use maps::{large, typical};

fn bench(c: &mut Criterion) {
    let key = Key::from_utf8("a benchmark secret key of 32 b!!").expect("key");
    let codec = FlaskCodec::new(&KeyRing::new(key.clone()));
    let never = codec.clone().with_compression(Compression::Never);
    let keyed =
        <Hmac<Sha1> as KeyInit>::new_from_slice(&derive_key(key.expose_bytes())).expect("hmac");
    let ts = 1_700_000_000;
    let mut group = c.benchmark_group("flask_codec");
    for (name, data) in [("typical_3_keys", typical()), ("large_2kb", large())] {
        let cookie = codec.encode(&data, ts);
        let mut json = String::new();
        websession_core::json::write_map(&mut json, &data);
        eprintln!(
            "{name}: json {} bytes, cookie {} bytes, compressed: {}",
            json.len(),
            cookie.len(),
            cookie.starts_with('.')
        );
        let signing_input = cookie.rsplit_once('.').expect("dot").0.to_owned();
        group.bench_with_input(
            BenchmarkId::new("raw_hmac_sha1", name),
            &signing_input,
            |b, input| {
                b.iter(|| {
                    let mut mac = keyed.clone();
                    mac.update(black_box(input.as_bytes()));
                    black_box(mac.finalize().into_bytes())
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("encode", name), &data, |b, d| {
            b.iter(|| black_box(codec.encode(black_box(d), ts)))
        });
        group.bench_with_input(BenchmarkId::new("decode", name), &cookie, |b, c| {
            b.iter(|| black_box(codec.decode(black_box(c), ts + 60).expect("valid")))
        });
        // What the middleware does on a read: the data indexed, not built.
        group.bench_with_input(BenchmarkId::new("decode_lazy", name), &cookie, |b, c| {
            b.iter(|| black_box(codec.decode_lazy(black_box(c), ts + 60).expect("valid")))
        });
        group.bench_with_input(
            BenchmarkId::new("decode_then_encode", name),
            &cookie,
            |b, c| {
                b.iter(|| {
                    let d = codec.decode(black_box(c), ts + 60).expect("valid");
                    black_box(codec.encode(&d.data, ts + 60))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("decode_then_encode_never_compress", name),
            &cookie,
            |b, c| {
                b.iter(|| {
                    let d = never.decode(black_box(c), ts + 60).expect("valid");
                    black_box(never.encode(&d.data, ts + 60))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("decode_then_resign", name),
            &cookie,
            |b, c| {
                b.iter(|| {
                    let d = codec.decode(black_box(c), ts + 60).expect("valid");
                    black_box(codec.resign(&d.payload, ts + 60))
                })
            },
        );
    }
    group.finish();

    // Sealed codec next to the raw AEAD cost of the same plaintext.
    let sealed = SealedCodec::new(&KeyRing::new(key), "session").expect("32-byte key");
    let aead = XChaCha20Poly1305::new(
        (&*websession_core::sealed::derive_key(
            &Key::from_utf8("a benchmark secret key of 32 b!!").expect("key"),
        ))
            .into(),
    );
    let mut group = c.benchmark_group("sealed_codec");
    for (name, data) in [("typical_3_keys", typical()), ("large_2kb", large())] {
        let cookie = sealed.seal(&data, ts, ts);
        let mut json = String::new();
        websession_core::json::write_map(&mut json, &data);
        let plain = json.into_bytes();
        let nonce = &XNonce::from([7u8; 24]);
        let ciphertext = aead
            .encrypt(
                nonce,
                Payload {
                    msg: &plain,
                    aad: b"session",
                },
            )
            .expect("encrypt");
        eprintln!("sealed {name}: cookie {} bytes", cookie.len());
        group.bench_with_input(
            BenchmarkId::new("raw_aead_open", name),
            &ciphertext,
            |b, ct| {
                b.iter(|| {
                    black_box(
                        aead.decrypt(
                            nonce,
                            Payload {
                                msg: black_box(ct),
                                aad: b"session",
                            },
                        )
                        .expect("open"),
                    )
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("raw_aead_seal", name), &plain, |b, p| {
            b.iter(|| {
                black_box(
                    aead.encrypt(
                        nonce,
                        Payload {
                            msg: black_box(p),
                            aad: b"session",
                        },
                    )
                    .expect("seal"),
                )
            })
        });
        // The candidates for a faster sealed format, on the same plaintext.
        {
            use aes_gcm::aead::Aead as _;
            use aes_gcm::KeyInit as _;
            let k = [9u8; 32];
            let siv = aes_gcm_siv::Aes256GcmSiv::new((&k).into());
            let gcm = aes_gcm::Aes256Gcm::new((&k).into());
            let chacha = chacha20poly1305::ChaCha20Poly1305::new((&k).into());
            let n12 = [7u8; 12];
            let siv_ct = siv.encrypt((&n12).into(), &plain[..]).expect("seal");
            let gcm_ct = gcm.encrypt((&n12).into(), &plain[..]).expect("seal");
            let chacha_ct = chacha.encrypt((&n12).into(), &plain[..]).expect("seal");
            group.bench_with_input(
                BenchmarkId::new("raw_aes256gcmsiv_open", name),
                &siv_ct,
                |b, ct| {
                    b.iter(|| {
                        black_box(
                            siv.decrypt((&n12).into(), &black_box(ct)[..])
                                .expect("open"),
                        )
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new("raw_aes256gcm_open", name),
                &gcm_ct,
                |b, ct| {
                    b.iter(|| {
                        black_box(
                            gcm.decrypt((&n12).into(), &black_box(ct)[..])
                                .expect("open"),
                        )
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new("raw_chacha20poly1305_open", name),
                &chacha_ct,
                |b, ct| {
                    b.iter(|| {
                        black_box(
                            chacha
                                .decrypt((&n12).into(), &black_box(ct)[..])
                                .expect("open"),
                        )
                    })
                },
            );
        }
        group.bench_with_input(BenchmarkId::new("open", name), &cookie, |b, c| {
            b.iter(|| black_box(sealed.open(black_box(c), ts + 60).expect("valid")))
        });
        group.bench_with_input(BenchmarkId::new("seal", name), &data, |b, d| {
            b.iter(|| black_box(sealed.seal(black_box(d), ts, ts)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
