//! `websession`: decode, verify, sign and audit Flask session cookies.
//!
//! The command-line interface is a contract: scripts depend on its output and
//! exit codes (0 valid/found, 1 invalid/not found, 2 usage error).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand};
use websession_core::{flask, json, unix_seconds, DecodeError, FlaskCodec, Key, KeyRing};

mod audit;

/// Exit code of a usage error (bad arguments, no key, unreadable files).
const USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "websession",
    version,
    about = "Decode, verify, sign and audit Flask session cookies",
    long_about = "Decode, verify, sign and audit Flask session cookies (Flask's default \
                  signed cookie: itsdangerous, HMAC-SHA1, salt `cookie-session`).\n\n\
                  Exit codes: 0 valid or found, 1 invalid or not found, 2 usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a cookie's payload WITHOUT checking it: signed cookies are readable by anyone.
    #[command(
        after_help = "Example:\n  websession decode 'eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o'\n  \
                            prints {\"user\":\"alice\"} on stdout and the signing time on stderr."
    )]
    Decode {
        /// The cookie value (without `session=`).
        cookie: String,
    },
    /// Check a cookie's signature and age; print its session as tagged JSON.
    #[command(
        after_help = "Example:\n  WEBSESSION_SECRET_KEY='correct horse battery staple' \\\n    \
                            websession verify --now 1700000060 'eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o'\n\n\
                            Exit 0 and the session on stdout when valid; exit 1 and the reason \
                            (BadSignature, BadTimeSignature, SignatureExpired, BadPayload) on stderr when not."
    )]
    Verify {
        #[command(flatten)]
        key: KeyArgs,
        /// An older key (Flask's SECRET_KEY_FALLBACKS) in hex; repeat in Flask's order, oldest first.
        #[arg(long = "fallback-key-hex", value_name = "HEX")]
        fallbacks: Vec<String>,
        /// Maximum age in seconds (Flask's PERMANENT_SESSION_LIFETIME).
        #[arg(long, value_name = "SECS", default_value_t = flask::DEFAULT_MAX_AGE)]
        max_age: u64,
        /// Verify as if the time were this (Unix seconds) instead of the clock.
        #[arg(long, value_name = "UNIX")]
        now: Option<u64>,
        /// The cookie value.
        cookie: String,
    },
    /// Sign a session (tagged JSON) into the cookie Flask would produce, byte for byte.
    #[command(
        after_help = "Example:\n  WEBSESSION_SECRET_KEY='correct horse battery staple' \\\n    \
                            websession sign --timestamp 1700000000 '{\"user\":\"alice\"}'\n  \
                            prints eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o"
    )]
    Sign {
        #[command(flatten)]
        key: KeyArgs,
        /// Signing time in Unix seconds (default: now).
        #[arg(long, value_name = "UNIX")]
        timestamp: Option<u64>,
        /// The session as Flask's tagged JSON, e.g. `{"user":"alice","t":{" t":[1,2]}}`.
        json: String,
    },
    /// Print a new random 32-byte key as hex.
    #[command(after_help = "Example:\n  websession keygen > secret.hex\n  \
                            websession verify --key-hex \"$(cat secret.hex)\" COOKIE")]
    Keygen,
    /// Look for the key that signed a cookie in a word list (and in well-known example keys).
    #[command(
        after_help = "Example:\n  websession audit --wordlist rockyou.txt 'eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o'\n\n\
                            Each line of the word list is one candidate key, taken as raw bytes \
                            (a trailing \\r is dropped). Exit 0 and the key on stdout when found; \
                            exit 1 when none matches."
    )]
    Audit {
        /// The word list: one candidate key per line.
        #[arg(long, value_name = "FILE")]
        wordlist: PathBuf,
        /// Worker threads (default: every core).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// The cookie value.
        cookie: String,
    },
}

/// Where the key comes from. Never a plain argument: other users can read argv.
#[derive(Args)]
struct KeyArgs {
    /// The secret key as hex.
    #[arg(long, value_name = "HEX", conflicts_with = "key_file")]
    key_hex: Option<String>,
    /// A file holding the raw key bytes (one trailing newline is dropped).
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,
}

impl KeyArgs {
    /// `--key-hex`, `--key-file`, or `WEBSESSION_SECRET_KEY` (UTF-8), in that order.
    fn key(&self) -> anyhow::Result<Key> {
        if let Some(hex) = &self.key_hex {
            return Key::from_hex(hex).context("--key-hex");
        }
        if let Some(path) = &self.key_file {
            let mut bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            return Key::from_bytes(bytes).with_context(|| format!("key file {}", path.display()));
        }
        match std::env::var("WEBSESSION_SECRET_KEY") {
            Ok(text) => Key::from_utf8(&text).context("WEBSESSION_SECRET_KEY"),
            Err(std::env::VarError::NotUnicode(_)) => {
                bail!("WEBSESSION_SECRET_KEY is not UTF-8; use --key-hex")
            }
            Err(std::env::VarError::NotPresent) => {
                bail!("no key: give --key-hex HEX, --key-file PATH, or set WEBSESSION_SECRET_KEY")
            }
        }
    }
}

/// How a command ended, for the exit code.
enum Outcome {
    Ok,
    Invalid,
}

fn main() -> ExitCode {
    let cli = Cli::parse(); // exits 2 on usage errors
    match run(cli.command) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(USAGE)
        }
    }
}

fn now() -> u64 {
    unix_seconds(time::OffsetDateTime::now_utc())
}

fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Decode { cookie } => decode(cookie.trim()),
        Command::Verify {
            key,
            fallbacks,
            max_age,
            now: at,
            cookie,
        } => {
            let fallbacks = fallbacks
                .iter()
                .map(|h| Key::from_hex(h).context("--fallback-key-hex"))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let keys = KeyRing::new(key.key()?).with_fallbacks(fallbacks);
            let codec = FlaskCodec::new(&keys).with_max_age(max_age);
            match codec.decode(cookie.trim(), at.unwrap_or_else(now)) {
                Ok(decoded) => {
                    let mut out = String::new();
                    json::write_map(&mut out, &decoded.data);
                    println!("{out}");
                    if decoded.key_index > 0 {
                        eprintln!("note: verified with fallback key {}; Flask re-signs it with SECRET_KEY on the next write", decoded.key_index);
                    }
                    Ok(Outcome::Ok)
                }
                Err(e) => Ok(report_invalid(&e)),
            }
        }
        Command::Sign {
            key,
            timestamp,
            json: text,
        } => {
            let codec = FlaskCodec::new(&KeyRing::new(key.key()?));
            let data = match json::parse_map(text.as_bytes()) {
                Ok(data) => data,
                Err(e) => {
                    eprintln!("BadPayload: the session is not tagged JSON: {e}");
                    return Ok(Outcome::Invalid);
                }
            };
            println!("{}", codec.encode(&data, timestamp.unwrap_or_else(now)));
            Ok(Outcome::Ok)
        }
        Command::Keygen => {
            println!("{}", &*Key::generate().to_hex());
            Ok(Outcome::Ok)
        }
        Command::Audit {
            wordlist,
            threads,
            cookie,
        } => {
            let threads = match threads {
                Some(0) => bail!("--threads must be at least 1"),
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(1, usize::from),
            };
            let words = std::fs::read(&wordlist)
                .with_context(|| format!("reading {}", wordlist.display()))?;
            let target = audit::Target::parse(cookie.trim()).ok_or_else(|| {
                anyhow!("the cookie does not have the shape PAYLOAD.TIMESTAMP.SIGNATURE")
            })?;
            let progress = std::io::stderr().is_terminal();
            match audit::search(&target, &words, threads, progress) {
                Some(key) => {
                    match std::str::from_utf8(&key) {
                        Ok(text) if !text.chars().any(char::is_control) => println!("{text}"),
                        _ => {
                            println!("hex:{}", hex::encode(&key));
                            eprintln!("found a key that is not printable text; shown as hex");
                        }
                    }
                    Ok(Outcome::Ok)
                }
                None => {
                    eprintln!("no key found");
                    Ok(Outcome::Invalid)
                }
            }
        }
    }
}

fn decode(cookie: &str) -> anyhow::Result<Outcome> {
    match flask::peek(cookie, flask::DEFAULT_MAX_DECOMPRESSED) {
        Ok((payload, timestamp)) => {
            let value = match json::parse_value(&payload) {
                Ok(v) => v,
                Err(e) => return Ok(report_invalid(&DecodeError::BadPayload(e))),
            };
            let mut out = String::new();
            json::write_value(&mut out, &value);
            println!("{out}");
            let when = i64::try_from(timestamp)
                .ok()
                .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| "out of range".into());
            eprintln!("signed at {timestamp} ({when}); the signature was NOT checked");
            let _ = std::io::stderr().flush();
            Ok(Outcome::Ok)
        }
        Err(e) => Ok(report_invalid(&e)),
    }
}

fn report_invalid(e: &DecodeError) -> Outcome {
    // The Display of every DecodeError starts with the itsdangerous name where it has one.
    let text = e.to_string();
    if text.starts_with(e.itsdangerous_name()) {
        eprintln!("{text}");
    } else {
        eprintln!("{}: {text}", e.itsdangerous_name());
    }
    Outcome::Invalid
}
