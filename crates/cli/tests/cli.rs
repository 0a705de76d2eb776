//! Spawns the `websession` binary and checks stdout, stderr and exit codes.

use std::io::Write;
use std::process::{Command, Output};

use serde_json::Value as J;

const BIN: &str = env!("CARGO_BIN_EXE_websession");
const VECTORS: &str = include_str!("../../core/tests/data/flask_vectors_public.json");
const KEY_HEX: &str = "636f727265637420686f727365206261747465727920737461706c65"; // correct horse battery staple

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("WEBSESSION_SECRET_KEY")
        .output()
        .expect("spawn")
}

fn run_env(args: &[&str], key: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .env("WEBSESSION_SECRET_KEY", key)
        .output()
        .expect("spawn")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn cases() -> Vec<J> {
    let all: J = serde_json::from_str(VECTORS).expect("vectors");
    all["cases"].as_array().expect("cases").clone()
}

/// Flask's outcomes that come from Python's lenient base64 or `dict()`; we are strict.
const STRICT: &[&str] = &[
    "pub-047-sig-extra-padding",
    "pub-048-sig-unused-bits",
    "pub-049-sig-standard-alphabet",
    "pub-084-signed-json-pairs",
];

#[test]
fn verify_every_decode_vector() {
    for case in cases().iter().filter(|c| c["kind"] != "http") {
        let id = case["id"].as_str().expect("id");
        let mut args = vec![
            "verify".to_owned(),
            "--key-hex".into(),
            case["secret_key"]["hex"].as_str().expect("hex").into(),
        ];
        for f in case["secret_key_fallbacks"].as_array().expect("f") {
            args.extend([
                "--fallback-key-hex".into(),
                f["hex"].as_str().expect("hex").into(),
            ]);
        }
        args.extend([
            "--max-age".into(),
            case["max_age"].to_string(),
            "--now".into(),
            case["now"].to_string(),
            case["cookie"].as_str().expect("cookie").into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args);
        match case["expected"]["outcome"].as_str().expect("outcome") {
            "valid" if !STRICT.contains(&id) => {
                assert_eq!(out.status.code(), Some(0), "{id}: {}", text(&out.stderr));
                let expected = case["expected"]["loaded_session_tagged_json"]
                    .as_str()
                    .expect("json");
                assert_eq!(text(&out.stdout), format!("{expected}\n"), "{id}");
            }
            _ => {
                assert_eq!(out.status.code(), Some(1), "{id}: {}", text(&out.stdout));
                assert!(out.stdout.is_empty(), "{id}");
                let err = text(&out.stderr);
                assert!(
                    [
                        "BadSignature",
                        "BadTimeSignature",
                        "SignatureExpired",
                        "BadPayload"
                    ]
                    .iter()
                    .any(|r| err.starts_with(r)),
                    "{id}: {err}"
                );
            }
        }
    }
}

#[test]
fn verify_reasons_name_the_failure() {
    let cookie = "eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o";
    let out = run(&[
        "verify",
        "--key-hex",
        KEY_HEX,
        "--now",
        "1700000060",
        cookie,
    ]);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "{\"user\":\"alice\"}\n".into())
    );
    let out = run(&[
        "verify",
        "--key-hex",
        KEY_HEX,
        "--now",
        "1800000000",
        cookie,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("SignatureExpired"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["verify", "--key-hex", "00ff", "--now", "1700000060", cookie]);
    assert!(text(&out.stderr).starts_with("BadSignature"));
    let out = run(&[
        "verify",
        "--key-hex",
        KEY_HEX,
        "--now",
        "1699999999",
        cookie,
    ]);
    assert!(
        text(&out.stderr).starts_with("SignatureExpired"),
        "future: {}",
        text(&out.stderr)
    );
    // Without --now, the clock decides: this 2023 cookie is long expired.
    assert_eq!(
        run(&["verify", "--key-hex", KEY_HEX, cookie]).status.code(),
        Some(1)
    );
    // --max-age raises the limit.
    let out = run(&[
        "verify",
        "--key-hex",
        KEY_HEX,
        "--max-age",
        "9999999999",
        cookie,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn sign_every_exact_vector() {
    for case in cases().iter().filter(|c| c["encode_exact"] == true) {
        let id = case["id"].as_str().expect("id");
        let out = run(&[
            "sign",
            "--key-hex",
            case["secret_key"]["hex"].as_str().expect("hex"),
            "--timestamp",
            &case["timestamp"].to_string(),
            case["session_tagged_json"].as_str().expect("json"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{id}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            format!("{}\n", case["cookie"].as_str().expect("c")),
            "{id}"
        );
    }
}

#[test]
fn decode_needs_no_key_and_shows_the_time() {
    for case in cases().iter().filter(|c| c["kind"] == "roundtrip") {
        let out = run(&["decode", case["cookie"].as_str().expect("c")]);
        assert_eq!(out.status.code(), Some(0));
        let expected = case["expected"]["loaded_session_tagged_json"]
            .as_str()
            .expect("j");
        assert_eq!(text(&out.stdout), format!("{expected}\n"), "{}", case["id"]);
        assert!(text(&out.stderr).contains(&case["timestamp"].to_string()));
    }
    let out = run(&[
        "decode",
        "eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o",
    ]);
    assert!(
        text(&out.stderr).contains("2023-11-14T22:13:20Z"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn keys_come_from_hex_file_or_environment() {
    let cookie = "eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o";
    let out = run_env(
        &["verify", "--now", "1700000060", cookie],
        "correct horse battery staple",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = std::env::temp_dir().join(format!("websession-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("key");
    std::fs::write(&file, "correct horse battery staple\n").expect("write");
    let out = run(&[
        "verify",
        "--key-file",
        file.to_str().expect("utf8"),
        "--now",
        "1700000060",
        cookie,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&[
        "sign",
        "--key-file",
        file.to_str().expect("u"),
        "--timestamp",
        "1700000000",
        "{\"user\":\"alice\"}",
    ]);
    assert_eq!(text(&out.stdout), format!("{cookie}\n"));
    // No key at all, or a key in two places: usage errors.
    let out = run(&["verify", cookie]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no key"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        run(&["verify", "--key-hex", KEY_HEX, "--key-file", "x", cookie])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["verify", "--key-hex", "zz", cookie]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["verify", "--key-file", "/nonexistent/key", cookie])
            .status
            .code(),
        Some(2)
    );
    // A key is never a positional argument.
    assert_eq!(
        run(&["verify", "correct horse battery staple", cookie])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn bad_input_is_refused_cleanly() {
    let huge = "A".repeat(100_000);
    for garbage in [
        "",
        "garbage",
        "a.b",
        "...",
        "\u{1f600}.\u{1f600}.\u{1f600}",
        huge.as_str(),
    ] {
        for cmd in [&["decode"][..], &["verify", "--key-hex", KEY_HEX]] {
            let mut args = cmd.to_vec();
            args.push(garbage);
            let out = run(&args);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{cmd:?} {:?}",
                &garbage[..garbage.len().min(20)]
            );
            assert!(out.stdout.is_empty());
            assert!(!text(&out.stderr).is_empty());
        }
    }
    let out = run(&[
        "sign",
        "--key-hex",
        KEY_HEX,
        "--timestamp",
        "1",
        "{not json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("BadPayload"));
    assert_eq!(
        run(&["sign", "--key-hex", KEY_HEX, "[1,2]"]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&["verify", "--key-hex", KEY_HEX, "--now", "soon", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn keygen_prints_32_random_bytes() {
    let a = run(&["keygen"]);
    let b = run(&["keygen"]);
    assert_eq!(a.status.code(), Some(0));
    let (a, b) = (text(&a.stdout), text(&b.stdout));
    assert_eq!(a.trim().len(), 64);
    assert!(a.trim().bytes().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in ["decode", "verify", "sign", "keygen", "audit"] {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        assert!(text(&out.stdout).contains("Example"), "{cmd}");
    }
}

fn wordlist(name: &str, lines: usize, last: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("websession-wl-{}-{name}", std::process::id()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    for i in 0..lines {
        writeln!(f, "candidate-{i:08x}-{}", i * 7919).expect("write");
    }
    // Lines that are not UTF-8, with CRLF, and empty ones.
    f.write_all(b"\xff\xfe\xfd\r\n\n\xc3\x28\n").expect("write");
    f.write_all(last).expect("write");
    f.write_all(b"\n").expect("write");
    drop(f);
    path
}

#[test]
fn audit_finds_a_key_at_the_end_of_a_100000_line_list() {
    let key = "the-real-key-is-at-the-end";
    let cookie = text(&run_env(&["sign", "{\"user\":\"alice\"}"], key).stdout)
        .trim()
        .to_owned();
    let list = wordlist("found", 100_000, key.as_bytes());
    for threads in ["1", "2", "3"] {
        let out = run(&[
            "audit",
            "--wordlist",
            list.to_str().expect("u"),
            "--threads",
            threads,
            &cookie,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("{key}\n"));
    }
}

#[test]
fn audit_reports_binary_keys_as_hex_and_absent_keys_as_exit_1() {
    let key = b"\x00\x01binary\xff";
    let cookie = text(&run(&["sign", "--key-hex", &hex(key), "{}"]).stdout)
        .trim()
        .to_owned();
    let list = wordlist("binary", 1000, key);
    let out = run(&["audit", "--wordlist", list.to_str().expect("u"), &cookie]);
    assert_eq!(text(&out.stdout), format!("hex:{}\n", hex(key)));
    let missing = wordlist("missing", 1000, b"not-it");
    let out = run(&["audit", "--wordlist", missing.to_str().expect("u"), &cookie]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        run(&["audit", "--wordlist", "/nonexistent", &cookie])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&[
            "audit",
            "--wordlist",
            missing.to_str().expect("u"),
            "garbage"
        ])
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn audit_tries_well_known_secrets_first() {
    let cookie = text(&run_env(&["sign", "{\"user\":\"admin\"}"], "super secret key").stdout)
        .trim()
        .to_owned();
    let empty = wordlist("empty", 0, b"");
    let out = run(&["audit", "--wordlist", empty.to_str().expect("u"), &cookie]);
    assert_eq!(text(&out.stdout), "super secret key\n");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
