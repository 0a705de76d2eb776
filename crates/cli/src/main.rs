//! `websession`: decode, verify, sign and audit Flask session cookies.
//!
//! The command-line interface is a contract: scripts depend on its output and
//! exit codes (0 valid/found, 1 invalid/not found, 2 usage error).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use websession_core::{flask, json, unix_seconds, DecodeError, FlaskCodec, Key, KeyRing};

mod audit;
mod keys;

use keys::{stdin_once, FallbackArgs, KeyArgs};

/// Exit code of a usage error (bad arguments, no key, unreadable files).
const USAGE: u8 = 2;

/// Where keys come from, for `verify` and `sign` (`--help`, before the options).
macro_rules! key_sources {
    () => {
        "Keys. The current key comes from exactly one of --key-file, --key-hex-file and \
         --key-hex; when none is given, from the environment: WEBSESSION_SECRET_KEY (text) or \
         WEBSESSION_SECRET_KEY_HEX (hex), not both.\n\n\
         --key-file reads the key as Flask's SECRET_KEY text: the file's bytes as they are, less \
         exactly one trailing newline (\\n or \\r\\n); hex in it is NOT decoded. \
         --key-hex-file reads hexadecimal and decodes it (whitespace around it is ignored). \
         For both, `-` reads standard input, which holds one key only. An empty or unreadable \
         file is an error.\n\n\
         --key-hex puts the key on the command line, where other users of the machine can read \
         it (ps, /proc/PID/cmdline) and your shell history keeps it: use it for test vectors \
         only, and a key file otherwise."
    };
}

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
        long_about = concat!(
            "Check a cookie's signature and age; print its session as tagged JSON.\n\n",
            key_sources!(),
            "\n\nFallback keys (Flask's SECRET_KEY_FALLBACKS) come from --fallback-key-file, \
             --fallback-key-hex-file and --fallback-key-hex, read like the current key's forms, \
             repeated and mixed in Flask's order, oldest first; when none is given, from \
             WEBSESSION_SECRET_KEY_FALLBACKS_HEX (hex keys separated by commas, oldest first). \
             --fallback-key-hex is as visible to other users as --key-hex."
        ),
        after_help = "Examples:\n  \
                      websession verify --key-file secret.key COOKIE\n  \
                      websession verify --key-file secret.key --fallback-key-file old.key COOKIE\n  \
                      pass show flask/secret-key | websession verify --key-file - COOKIE\n\n\
                      With secret.key holding the line `correct horse battery staple`,\n  \
                      websession verify --key-file secret.key --now 1700000060 \\\n    \
                      'eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o'\n\
                      exits 0 and prints {\"user\":\"alice\"}. An invalid cookie exits 1 with the \
                      reason (BadSignature, BadTimeSignature, SignatureExpired, BadPayload) on stderr."
    )]
    Verify {
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        fallbacks: FallbackArgs,
        /// Maximum age in seconds (Flask's PERMANENT_SESSION_LIFETIME).
        #[arg(long, value_name = "SECS", default_value_t = websession_core::codec::DEFAULT_MAX_AGE)]
        max_age: u64,
        /// Verify as if the time were this (Unix seconds) instead of the clock.
        #[arg(long, value_name = "UNIX")]
        now: Option<u64>,
        /// The cookie value.
        cookie: String,
    },
    /// Sign a session (tagged JSON) into the cookie Flask would produce, byte for byte.
    #[command(
        long_about = concat!(
            "Sign a session (tagged JSON) into the cookie Flask would produce, byte for byte.\n\n",
            key_sources!()
        ),
        after_help = "Example:\n  \
                      websession sign --key-file secret.key '{\"user_id\":42}'\n\n\
                      With secret.key holding the line `correct horse battery staple`,\n  \
                      websession sign --key-file secret.key --timestamp 1700000000 '{\"user\":\"alice\"}'\n\
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
    /// Print a new random key: 64 hex digits (32 random bytes) on one line.
    #[command(after_help = "Example:\n  \
                      (umask 077; websession keygen > secret.key)\n  \
                      websession verify --key-file secret.key COOKIE\n\n\
                      The key is the line of text itself, the way Flask's documentation makes a \
                      SECRET_KEY (secrets.token_hex()): --key-file reads it as that text, and Flask \
                      must get the same text, e.g. SECRET_KEY = Path(\"secret.key\").read_text().strip(). \
                      To use the 32 bytes it encodes instead, read it with --key-hex-file and give \
                      Flask bytes.fromhex(...): the two are different keys. umask 077 keeps the file \
                      readable by you alone.")]
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

/// How a command ended, for the exit code.
enum Outcome {
    Ok,
    Invalid,
}

fn main() -> ExitCode {
    // Parsed in two steps: `verify` needs the positions of its fallback flags.
    let matches = Cli::command().get_matches(); // exits 2 on usage errors
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run(cli.command, &matches) {
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

/// Runs a command; `matches` are those of the whole command line.
fn run(command: Command, matches: &ArgMatches) -> anyhow::Result<Outcome> {
    match command {
        Command::Decode { cookie } => decode(cookie.trim()),
        Command::Verify {
            key,
            fallbacks,
            max_age,
            now: at,
            cookie,
        } => {
            stdin_once(key.files().into_iter().chain(fallbacks.files()))?;
            let current = key.key()?;
            let sub = matches
                .subcommand_matches("verify")
                .ok_or_else(|| anyhow!("internal error: no arguments for verify"))?;
            let fallbacks = fallbacks.keys(sub)?;
            let keys =
                KeyRing::new(current).with_fallbacks(fallbacks.iter().map(|f| f.key.clone()));
            let codec = FlaskCodec::new(&keys).with_max_age(max_age);
            match codec.decode(cookie.trim(), at.unwrap_or_else(now)) {
                Ok(decoded) => {
                    let mut out = String::new();
                    // What Flask holds after loading (a date it can't read is None).
                    json::write_map_as_loaded(&mut out, &decoded.data);
                    println!("{out}");
                    // key_index counts fallbacks newest first; people give them oldest first.
                    let n = fallbacks.len();
                    if let Some(i) = n
                        .checked_sub(decoded.key_index)
                        .filter(|_| decoded.key_index > 0)
                    {
                        eprintln!(
                            "note: verified with fallback key {} of {n} ({}); \
                             Flask re-signs it with SECRET_KEY on the next write",
                            i + 1,
                            fallbacks[i].source
                        );
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
            if std::io::stdout().is_terminal() {
                eprintln!(
                    "note: keep keys in files, not in terminals or arguments: \
                     (umask 077; websession keygen > secret.key), then --key-file secret.key"
                );
            }
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
    match flask::peek(cookie, websession_core::codec::DEFAULT_MAX_DECOMPRESSED) {
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
