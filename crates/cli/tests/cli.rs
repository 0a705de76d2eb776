//! (Over 400 lines: one suite of the command-line contract.)
//! Spawns the `websession` binary and checks stdout, stderr and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_websession");
const KEY_HEX: &str = "636f727265637420686f727365206261747465727920737461706c65"; // correct horse battery staple

/// Every environment variable the binary reads a key from.
const KEY_ENV: &[&str] = &[
    "WEBSESSION_SECRET_KEY",
    "WEBSESSION_SECRET_KEY_HEX",
    "WEBSESSION_SECRET_KEY_FALLBACKS_HEX",
];

/// The binary with none of the key variables of the test's own environment.
fn bin() -> Command {
    let mut cmd = Command::new(BIN);
    for var in KEY_ENV {
        cmd.env_remove(var);
    }
    cmd
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("spawn")
}

fn run_env(args: &[&str], key: &str) -> Output {
    bin()
        .args(args)
        .env("WEBSESSION_SECRET_KEY", key)
        .output()
        .expect("spawn")
}

/// Runs with these environment variables and this standard input.
fn run_with(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = bin();
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    // The binary may exit without reading: a broken pipe is fine.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

use websession_core::testing::{flask_vector_cases as cases, STRICT_DEVIATIONS as STRICT};

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

/// Signed with `correct horse battery staple` at 1700000000; valid with `--now 1700000060`.
const COOKIE: &str = "eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o";
const SECRET: &str = "correct horse battery staple";

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("websession-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_str().expect("utf8").to_owned()
}

/// Exit code, stdout and stderr, for one assertion with a readable message.
fn outcome(out: &Output) -> (Option<i32>, String, String) {
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn valid(out: &Output) {
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "{\"user\":\"alice\"}\n".to_owned()),
        "{}",
        text(&out.stderr)
    );
}

/// A usage error (exit 2) whose message contains every one of `words`, and never the key.
fn usage_error(out: &Output, words: &[&str]) {
    let (code, stdout, stderr) = outcome(out);
    assert_eq!(code, Some(2), "stdout {stdout:?} stderr {stderr:?}");
    assert!(stdout.is_empty(), "{stdout}");
    for w in words {
        assert!(stderr.contains(w), "{w:?} not in {stderr:?}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    for secret in [SECRET, KEY_HEX, "correct horse"] {
        assert!(!stderr.contains(secret), "the key leaked: {stderr}");
    }
}

#[test]
fn key_file_is_the_secret_text_less_exactly_one_newline() {
    let dir = scratch("keyfile");
    for (name, body) in [
        ("lf", format!("{SECRET}\n")),
        ("crlf", format!("{SECRET}\r\n")),
        ("bare", SECRET.to_owned()),
    ] {
        let file = write(&dir, name, body.as_bytes());
        valid(&run(&[
            "verify",
            "--key-file",
            &file,
            "--now",
            "1700000060",
            COOKIE,
        ]));
    }
    // Only one newline goes: the second is part of the key, so the signature is wrong.
    let two = write(&dir, "two", format!("{SECRET}\n\n").as_bytes());
    let out = run(&["verify", "--key-file", &two, "--now", "1700000060", COOKIE]);
    assert_eq!(out.status.code(), Some(1), "{:?}", outcome(&out));
    assert!(text(&out.stderr).starts_with("BadSignature"));
    // Hex in a --key-file is text, not decoded: the 56 digits are the key.
    let hex_text = write(&dir, "hex-as-text", format!("{KEY_HEX}\n").as_bytes());
    let out = run(&[
        "verify",
        "--key-file",
        &hex_text,
        "--now",
        "1700000060",
        COOKIE,
    ]);
    assert_eq!(out.status.code(), Some(1), "{:?}", outcome(&out));
}

#[test]
fn key_hex_file_is_decoded() {
    let dir = scratch("hexfile");
    let file = write(&dir, "key.hex", format!("{KEY_HEX}\n").as_bytes());
    valid(&run(&[
        "verify",
        "--key-hex-file",
        &file,
        "--now",
        "1700000060",
        COOKIE,
    ]));
    let out = run(&[
        "sign",
        "--key-hex-file",
        &file,
        "--timestamp",
        "1700000000",
        "{\"user\":\"alice\"}",
    ]);
    assert_eq!(
        outcome(&out),
        (Some(0), format!("{COOKIE}\n"), String::new())
    );
    // Text in a --key-hex-file is refused, and not echoed.
    let text_file = write(&dir, "text", format!("{SECRET}\n").as_bytes());
    usage_error(
        &run(&["verify", "--key-hex-file", &text_file, COOKIE]),
        &["hexadecimal", &text_file],
    );
}

#[test]
fn key_from_stdin_with_a_dash() {
    valid(&run_with(
        &["verify", "--key-file", "-", "--now", "1700000060", COOKIE],
        &[],
        format!("{SECRET}\n").as_bytes(),
    ));
    valid(&run_with(
        &[
            "verify",
            "--key-hex-file",
            "-",
            "--now",
            "1700000060",
            COOKIE,
        ],
        &[],
        format!("{KEY_HEX}\n").as_bytes(),
    ));
    let out = run_with(
        &[
            "sign",
            "--key-file",
            "-",
            "--timestamp",
            "1700000000",
            "{\"user\":\"alice\"}",
        ],
        &[],
        SECRET.as_bytes(),
    );
    assert_eq!(
        outcome(&out),
        (Some(0), format!("{COOKIE}\n"), String::new())
    );
    // Nothing on stdin: an empty key.
    usage_error(
        &run_with(&["verify", "--key-file", "-", COOKIE], &[], b""),
        &["standard input", "empty"],
    );
}

#[test]
fn key_from_environment_text_or_hex() {
    valid(&run_with(
        &["verify", "--now", "1700000060", COOKIE],
        &[("WEBSESSION_SECRET_KEY", SECRET)],
        b"",
    ));
    valid(&run_with(
        &["verify", "--now", "1700000060", COOKIE],
        &[("WEBSESSION_SECRET_KEY_HEX", KEY_HEX)],
        b"",
    ));
    // Both variables: which one is meant? Refused.
    usage_error(
        &run_with(
            &["verify", "--now", "1700000060", COOKIE],
            &[
                ("WEBSESSION_SECRET_KEY", SECRET),
                ("WEBSESSION_SECRET_KEY_HEX", KEY_HEX),
            ],
            b"",
        ),
        &["WEBSESSION_SECRET_KEY", "WEBSESSION_SECRET_KEY_HEX"],
    );
    usage_error(
        &run_with(
            &["verify", COOKIE],
            &[("WEBSESSION_SECRET_KEY_HEX", "zz")],
            b"",
        ),
        &["WEBSESSION_SECRET_KEY_HEX", "hexadecimal"],
    );
    usage_error(
        &run_with(&["verify", COOKIE], &[("WEBSESSION_SECRET_KEY", "")], b""),
        &["WEBSESSION_SECRET_KEY", "empty"],
    );
    // A key on the command line wins over the environment.
    let dir = scratch("env-vs-file");
    let file = write(&dir, "key", format!("{SECRET}\n").as_bytes());
    valid(&run_with(
        &["verify", "--key-file", &file, "--now", "1700000060", COOKIE],
        &[
            ("WEBSESSION_SECRET_KEY", "some other key"),
            ("WEBSESSION_SECRET_KEY_HEX", "00ff"),
        ],
        b"",
    ));
}

fn run_owned(args: &[String]) -> Output {
    bin().args(args).output().expect("spawn")
}

/// Signs `{"user":"alice"}` at 1700000000 with this key (hex).
fn signed_with(key_hex: &str) -> String {
    let out = run(&[
        "sign",
        "--key-hex",
        key_hex,
        "--timestamp",
        "1700000000",
        "{\"user\":\"alice\"}",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

#[test]
fn fallback_keys_from_files_stdin_and_environment_keep_their_order() {
    let dir = scratch("fallbacks");
    let current = write(&dir, "current", b"the current secret\n");
    let oldest = write(&dir, "oldest", b"the oldest secret\n");
    let older_hex = write(
        &dir,
        "older.hex",
        format!("{}\n", hex(b"the older secret")).as_bytes(),
    );
    let newest_hex = hex(b"the newest fallback");
    // Oldest first, as in Flask's SECRET_KEY_FALLBACKS; the forms mix.
    let args = |cookie: &str| -> Vec<String> {
        [
            "verify",
            "--key-file",
            &current,
            "--fallback-key-file",
            &oldest,
            "--fallback-key-hex-file",
            &older_hex,
            "--fallback-key-hex",
            &newest_hex,
            "--now",
            "1700000060",
            cookie,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    for (key, n, source) in [
        (
            hex(b"the oldest secret"),
            1,
            format!("--fallback-key-file {oldest}"),
        ),
        (
            hex(b"the older secret"),
            2,
            format!("--fallback-key-hex-file {older_hex}"),
        ),
        (newest_hex.clone(), 3, "--fallback-key-hex".to_owned()),
    ] {
        let out = run_owned(&args(&signed_with(&key)));
        valid(&out);
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("fallback key {n} of 3 ({source})")),
            "{n}: {err}"
        );
    }
    // The current key needs no note; an unknown key fails.
    let out = run_owned(&args(&signed_with(&hex(b"the current secret"))));
    valid(&out);
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let out = run_owned(&args(&signed_with(&hex(b"never given"))));
    assert_eq!(out.status.code(), Some(1));

    // A fallback from standard input.
    let old = signed_with(&hex(b"the oldest secret"));
    let out = run_with(
        &[
            "verify",
            "--key-file",
            &current,
            "--fallback-key-file",
            "-",
            "--now",
            "1700000060",
            &old,
        ],
        &[],
        b"the oldest secret\n",
    );
    valid(&out);
    assert!(text(&out.stderr).contains("fallback key 1 of 1 (--fallback-key-file -)"));

    // Fallbacks from the environment: hex, comma-separated, oldest first.
    let list = format!(
        "{}, {}",
        hex(b"the oldest secret"),
        hex(b"the older secret")
    );
    let out = run_with(
        &[
            "verify",
            "--key-file",
            &current,
            "--now",
            "1700000060",
            &old,
        ],
        &[("WEBSESSION_SECRET_KEY_FALLBACKS_HEX", list.as_str())],
        b"",
    );
    valid(&out);
    assert!(
        text(&out.stderr).contains("fallback key 1 of 2 (WEBSESSION_SECRET_KEY_FALLBACKS_HEX)"),
        "{}",
        text(&out.stderr)
    );
    // Fallbacks on the command line replace those of the environment.
    let out = run_with(
        &[
            "verify",
            "--key-file",
            &current,
            "--fallback-key-file",
            &oldest,
            "--now",
            "1700000060",
            &old,
        ],
        &[("WEBSESSION_SECRET_KEY_FALLBACKS_HEX", "zz")],
        b"",
    );
    valid(&out);
    usage_error(
        &run_with(
            &["verify", "--key-file", &current, &old],
            &[("WEBSESSION_SECRET_KEY_FALLBACKS_HEX", "00ff,zz")],
            b"",
        ),
        &["WEBSESSION_SECRET_KEY_FALLBACKS_HEX", "2", "hexadecimal"],
    );
}

#[test]
fn two_sources_for_the_current_key_are_refused() {
    let dir = scratch("conflicts");
    let file = write(&dir, "key", format!("{SECRET}\n").as_bytes());
    let hex_file = write(&dir, "key.hex", KEY_HEX.as_bytes());
    for (a, b) in [
        (
            ["--key-file", file.as_str()],
            ["--key-hex-file", hex_file.as_str()],
        ),
        (["--key-file", file.as_str()], ["--key-hex", KEY_HEX]),
        (
            ["--key-hex-file", hex_file.as_str()],
            ["--key-hex", KEY_HEX],
        ),
        (["--key-file", file.as_str()], ["--key-file", file.as_str()]),
    ] {
        for cmd in ["verify", "sign"] {
            let last = if cmd == "verify" { COOKIE } else { "{}" };
            let out = run(&[cmd, a[0], a[1], b[0], b[1], last]);
            usage_error(&out, &[b[0]]);
        }
    }
    // Standard input holds one thing: it can't be both the key and a fallback, or two fallbacks.
    for args in [
        &["--key-file", "-", "--fallback-key-file", "-"][..],
        &["--key-hex-file", "-", "--fallback-key-hex-file", "-"],
        &[
            "--key-file",
            file.as_str(),
            "--fallback-key-file",
            "-",
            "--fallback-key-hex-file",
            "-",
        ],
    ] {
        let mut all = vec!["verify"];
        all.extend(args);
        all.push(COOKIE);
        usage_error(
            &run_with(&all, &[], format!("{SECRET}\n").as_bytes()),
            &["standard input"],
        );
    }
}

#[test]
fn unreadable_key_files_are_clear_errors() {
    let dir = scratch("unreadable");
    let empty = write(&dir, "empty", b"");
    let newline = write(&dir, "newline", b"\n");
    let missing = dir.join("missing").to_str().expect("u").to_owned();
    let directory = dir.to_str().expect("u").to_owned();
    let big = write(&dir, "big", &vec![b'k'; 1 << 20]);
    for flag in [
        "--key-file",
        "--key-hex-file",
        "--fallback-key-file",
        "--fallback-key-hex-file",
    ] {
        let run_flag = |path: &str| {
            if flag.starts_with("--fallback") {
                run_env(&["verify", flag, path, COOKIE], SECRET)
            } else {
                run(&["verify", flag, path, COOKIE])
            }
        };
        usage_error(&run_flag(&empty), &[&empty, "empty"]);
        usage_error(&run_flag(&newline), &[&newline, "empty"]);
        usage_error(&run_flag(&missing), &[&missing, "No such file"]);
        usage_error(&run_flag(&directory), &[&directory]);
        usage_error(&run_flag(&big), &[&big, "larger than"]);
    }
    // Unreadable for lack of permission (when not root: root reads anything).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = write(&dir, "locked", format!("{SECRET}\n").as_bytes());
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        if std::fs::read(&locked).is_err() {
            usage_error(
                &run(&["verify", "--key-file", &locked, COOKIE]),
                &[&locked, "Permission denied"],
            );
        }
    }
}

#[test]
fn help_warns_that_arguments_are_visible_and_shows_file_forms() {
    for cmd in ["verify", "sign"] {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        let help = text(&out.stdout);
        for needle in [
            "--key-file",
            "--key-hex-file",
            "--fallback-key-file",
            "WEBSESSION_SECRET_KEY",
            "WEBSESSION_SECRET_KEY_HEX",
            "/proc",
            "ps",
            "other users",
        ] {
            if needle.contains("fallback") && cmd == "sign" {
                continue;
            }
            assert!(help.contains(needle), "{cmd}: {needle:?} not in\n{help}");
        }
        assert!(help.contains("Example"), "{cmd}");
        // The examples use files, never a key on the command line or inline in the environment.
        let examples = &help[help.find("Example").expect("example")..];
        assert!(examples.contains("--key-file"), "{cmd}: {examples}");
        assert!(!examples.contains("--key-hex "), "{cmd}: {examples}");
        assert!(
            !examples.contains("WEBSESSION_SECRET_KEY='"),
            "{cmd}: {examples}"
        );
    }
    let out = run(&["keygen", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("websession keygen > secret.key"), "{help}");
    assert!(help.contains("--key-file secret.key"), "{help}");
    assert!(!help.contains("--key-hex \""), "{help}");
}

#[test]
fn a_keygen_file_works_with_key_file() {
    let dir = scratch("keygen");
    let out = run(&["keygen"]);
    assert_eq!(out.status.code(), Some(0));
    let file = write(&dir, "secret.key", &out.stdout);
    let line = text(&out.stdout);
    // --key-file uses the line as text, exactly like WEBSESSION_SECRET_KEY="$(cat secret.key)".
    let from_file = run(&["sign", "--key-file", &file, "--timestamp", "1", "{}"]);
    let from_env = run_env(&["sign", "--timestamp", "1", "{}"], line.trim_end());
    assert_eq!(
        from_file.status.code(),
        Some(0),
        "{}",
        text(&from_file.stderr)
    );
    assert_eq!(text(&from_file.stdout), text(&from_env.stdout));
    // --key-hex-file decodes it to 32 bytes: a different key, on purpose and documented.
    let from_hex = run(&["sign", "--key-hex-file", &file, "--timestamp", "1", "{}"]);
    assert_eq!(from_hex.status.code(), Some(0));
    assert_ne!(text(&from_file.stdout), text(&from_hex.stdout));
}

/// Found in review: a date at the calendar's edge with an offset past it in
/// UTC made `decode`, the command for untrusted cookies, panic (exit 101).
#[test]
fn decode_survives_dates_at_the_calendar_edge() {
    let out = run(&["decode", "eyJhIjp7IiBkIjoiRnJpLCAzMSBEZWMgOTk5OSAyMzo1OTo1OSAtMjM1OSJ9fQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("9999"), "{}", text(&out.stdout));
}

/// The Starlette and Django vectors (made by the real frameworks).
fn python_vectors(format: &str) -> serde_json::Value {
    serde_json::from_str(&websession_core::testing::testdata_text(&format!(
        "{format}_vectors.json"
    )))
    .expect("vectors")
}

#[test]
fn sign_verify_and_decode_starlette_and_django_vectors() {
    for format in ["starlette", "django"] {
        let v = python_vectors(format);
        let key = v["meta"]["key"].as_str().expect("key");
        for case in v["encode"].as_array().expect("encode") {
            let name = case["name"].as_str().expect("name");
            let payload = case["payload"].as_str().expect("payload");
            let cookie = case["cookie"].as_str().expect("cookie");
            let ts = case["timestamp"].to_string();
            // sign: the framework's cookie, byte for byte.
            let out = run_env(
                &["sign", "--format", format, "--timestamp", &ts, payload],
                key,
            );
            assert_eq!(text(&out.stdout), format!("{cookie}\n"), "{format} {name}");
            assert_eq!(out.status.code(), Some(0));
            // verify: the session, compact.
            let out = run_env(&["verify", "--format", format, "--now", &ts, cookie], key);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{format} {name}: {}",
                text(&out.stderr)
            );
            let shown = text(&out.stdout);
            let parsed = websession_core::json::parse_plain_map(shown.trim().as_bytes());
            let expected = websession_core::json::parse_plain_map(payload.as_bytes());
            assert_eq!(parsed, expected, "{format} {name}");
            // decode, with the format detected from the cookie's shape.
            let out = run(&["decode", cookie]);
            assert_eq!(text(&out.stdout), shown, "{format} {name}: detected");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&ts) && stderr.to_lowercase().contains(format),
                "{stderr}"
            );
            // A Flask verify of a Python cookie fails cleanly.
            assert_eq!(
                run_env(&["verify", "--now", &ts, cookie], key)
                    .status
                    .code(),
                Some(1)
            );
        }
        // Expiry at the framework's default age, and fallbacks.
        let base = v["encode"][0]["cookie"].as_str().expect("cookie");
        let now = v["meta"]["now"].as_u64().expect("now");
        let at = |t: u64| {
            run_env(
                &["verify", "--format", format, "--now", &t.to_string(), base],
                key,
            )
        };
        assert_eq!(at(now + 1_209_600).status.code(), Some(0), "{format}");
        let late = at(now + 1_209_601);
        assert_eq!(late.status.code(), Some(1), "{format}");
        assert!(
            text(&late.stderr).starts_with("SignatureExpired"),
            "{}",
            text(&late.stderr)
        );
        let wrong = run_env(
            &["verify", "--format", format, base],
            "another key entirely",
        );
        assert_eq!(wrong.status.code(), Some(1));
        assert!(text(&wrong.stderr).starts_with("BadSignature"));
    }
    let v = python_vectors("django");
    let case = v["decode"]
        .as_array()
        .expect("decode")
        .iter()
        .find(|c| c["name"] == "old key as fallback")
        .expect("case");
    let out = run_with(
        &[
            "verify",
            "--format",
            "django",
            "--now",
            &case["now"].to_string(),
            "--fallback-key-hex",
            &hex(v["meta"]["old_key"].as_str().expect("old").as_bytes()),
            case["cookie"].as_str().expect("cookie"),
        ],
        &[(
            "WEBSESSION_SECRET_KEY",
            v["meta"]["key"].as_str().expect("key"),
        )],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Django re-signs it"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn audit_finds_starlette_and_django_keys() {
    let key = "the-python-app-secret";
    let list = wordlist("python", 20_000, key.as_bytes());
    for format in ["starlette", "django"] {
        let cookie =
            text(&run_env(&["sign", "--format", format, r#"{"user":"alice"}"#], key).stdout)
                .trim()
                .to_owned();
        let out = run(&[
            "audit",
            "--format",
            format,
            "--wordlist",
            list.to_str().expect("u"),
            &cookie,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), format!("{key}\n"));
        // Audited as Flask's, the cookie has the wrong shape or no key matches.
        let out = run(&["audit", "--wordlist", list.to_str().expect("u"), &cookie]);
        assert_ne!(out.status.code(), Some(0), "{format}");
    }
    let out = run(&["sign", "--format", "django", "[1,2]"]);
    assert_eq!(out.status.code(), Some(2), "no key: usage error");
    let out = run_env(&["sign", "--format", "django", "[1,2]"], key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("BadPayload"),
        "{}",
        text(&out.stderr)
    );
}
