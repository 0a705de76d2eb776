//! `websession`: decode, verify, sign and audit Flask session cookies.
//!
//! The command-line interface is a contract: scripts depend on its output and
//! exit codes (0 valid/found, 1 invalid/not found, 2 usage error).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use websession_core::django::DjangoCodec;
use websession_core::json::PlainJson;
use websession_core::starlette::StarletteCodec;
use websession_core::{
    django_signing, flask, json, starlette, unix_seconds, DecodeError, FlaskCodec, Key, KeyRing,
    Map, PayloadError,
};

mod audit;
mod keys;
mod stored;

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
                  signed cookie: itsdangerous, HMAC-SHA1, salt `cookie-session`), and with \
                  --format the session cookies of Starlette/FastAPI (SessionMiddleware) and \
                  Django (the signed_cookies backend).\n\n\
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
        /// The cookie's format; detected from its shape when not given.
        #[arg(long, value_enum)]
        format: Option<Format>,
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
        /// The cookie's format.
        #[arg(long, value_enum, default_value_t = Format::Flask)]
        format: Format,
        /// Maximum age in seconds (Flask's PERMANENT_SESSION_LIFETIME, 31 days; Starlette's
        /// max_age and Django's SESSION_COOKIE_AGE, 14 days).
        #[arg(long, value_name = "SECS")]
        max_age: Option<u64>,
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
        /// The cookie's format (Starlette and Django take plain JSON).
        #[arg(long, value_enum, default_value_t = Format::Flask)]
        format: Format,
        /// Signing time in Unix seconds (default: now).
        #[arg(long, value_name = "UNIX")]
        timestamp: Option<u64>,
        /// The session as Flask's tagged JSON, e.g. `{"user":"alice","t":{" t":[1,2]}}`.
        json: String,
    },
    /// Print a session a Python app keeps server-side (Flask-Session, Django's db backend); read-only.
    #[command(
        long_about = concat!(
            "Print the session a Python app keeps server-side, for debugging a migration: \
             Flask-Session 0.8's record (Redis, or its SQLAlchemy table on PostgreSQL or SQLite) \
             or the row of Django 5.2's django_session table (PostgreSQL or SQLite), found by the \
             cookie's session id. Read-only: one read, nothing written or deleted. Prints the \
             session as tagged JSON on stdout and its expiry on stderr; exit 1 when there is no \
             live, readable record.\n\n",
            "Django needs the key (SECRET_KEY; fallbacks as for verify) to check session_data's \
             signature; Flask-Session needs it only with --signed (SESSION_USE_SIGNER).\n\n",
            key_sources!()
        ),
        after_help = "Examples:\n  \
                      websession stored --format flask-session --store redis://127.0.0.1:6379 COOKIE\n  \
                      websession stored --format flask-session --signed --key-file flask.key \\\n    \
                      --store postgres://app@db/app --table sessions COOKIE\n  \
                      websession stored --format django --key-file django.key \\\n    \
                      --store sqlite:db.sqlite3 COOKIE"
    )]
    Stored {
        /// Whose records the store holds.
        #[arg(long, value_enum)]
        format: stored::StoredFormat,
        /// The store: redis://… (Flask-Session), postgres://…, sqlite:PATH or SQLAlchemy's
        /// sqlite:///PATH (plain TCP to servers; no TLS).
        #[arg(long, value_name = "URL")]
        store: String,
        /// Flask-Session: the cookie holds a signed id (SESSION_USE_SIGNER); needs the key.
        #[arg(long)]
        signed: bool,
        /// Flask-Session: SESSION_KEY_PREFIX (default `session:`).
        #[arg(long, value_name = "PREFIX")]
        key_prefix: Option<String>,
        /// Flask-Session: records written as JSON (SESSION_SERIALIZATION_FORMAT = "json");
        /// either format is read.
        #[arg(long)]
        json: bool,
        /// The table (Flask-Session's SESSION_SQLALCHEMY_TABLE, default `sessions`; Django's
        /// `django_session`).
        #[arg(long, value_name = "NAME")]
        table: Option<String>,
        /// Django: the session class's qualified name, which salts session_data
        /// (default `SessionStore`).
        #[arg(long, value_name = "QUALNAME")]
        session_class: Option<String>,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        fallbacks: FallbackArgs,
        /// The session cookie's value (Flask's `session`, Django's `sessionid`).
        cookie: String,
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
        /// The cookie's format.
        #[arg(long, value_enum, default_value_t = Format::Flask)]
        format: Format,
        /// Worker threads (default: every core).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// The cookie value.
        cookie: String,
    },
}

/// A session cookie format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Flask's signed cookie (itsdangerous, HMAC-SHA1, salt `cookie-session`, tagged JSON).
    Flask,
    /// Starlette's / FastAPI's SessionMiddleware (itsdangerous' TimestampSigner, standard base64 of JSON).
    Starlette,
    /// Django's signed_cookies session backend (django.core.signing, HMAC-SHA256, `:`).
    Django,
}

impl Format {
    /// The framework's default maximum age, in seconds.
    fn default_max_age(self) -> u64 {
        match self {
            Self::Flask => websession_core::codec::DEFAULT_MAX_AGE,
            Self::Starlette => starlette::STARLETTE_MAX_AGE,
            Self::Django => websession_core::django::SESSION_COOKIE_AGE,
        }
    }

    /// The framework's name, for messages.
    fn framework(self) -> &'static str {
        match self {
            Self::Flask => "Flask",
            Self::Starlette => "Starlette",
            Self::Django => "Django",
        }
    }

    /// The format of a cookie, from its shape: Django's separators are `:`;
    /// Starlette's payload is standard base64 (`+`, `/`, `=`) of JSON
    /// written with spaces; anything else is Flask's.
    fn detect(cookie: &str) -> Self {
        if cookie.contains(':') {
            return Self::Django;
        }
        let payload = cookie
            .rsplit_once('.')
            .and_then(|(rest, _)| rest.rsplit_once('.'))
            .map_or("", |(payload, _)| payload);
        if payload.contains(['+', '/', '=']) {
            return Self::Starlette;
        }
        // Both alphabets agree here: Starlette's JSON is spaced, Flask's compact.
        match starlette::peek(cookie) {
            Ok((json, _)) if spaced_json(&json) => Self::Starlette,
            _ => Self::Flask,
        }
    }
}

/// Whether a payload is a JSON object that Starlette's `json.dumps` wrote
/// (`", "` and `": "` between items), not Flask's compact JSON.
fn spaced_json(json: &[u8]) -> bool {
    let Ok(map) = json::parse_plain_map(json) else {
        return false;
    };
    let mut out = String::new();
    !map.is_empty()
        && json::write_plain_map(&mut out, &map, PlainJson::Spaced).is_ok()
        && out.as_bytes() == json
}

/// A codec of each format over one key ring.
enum Codec {
    Flask(FlaskCodec),
    Starlette(StarletteCodec),
    Django(DjangoCodec),
}

impl Codec {
    fn new(format: Format, keys: &KeyRing, max_age: u64) -> Self {
        match format {
            Format::Flask => Self::Flask(FlaskCodec::new(keys).with_max_age(max_age)),
            Format::Starlette => Self::Starlette(StarletteCodec::new(keys).with_max_age(max_age)),
            Format::Django => Self::Django(DjangoCodec::new(keys).with_max_age(max_age)),
        }
    }

    /// Verifies at `now`: the session as the framework holds it (JSON text)
    /// and the index of the key that verified.
    fn verify(&self, cookie: &str, now: u64) -> Result<(String, usize), DecodeError> {
        let mut out = String::new();
        let index = match self {
            Self::Flask(c) => {
                let d = c.decode(cookie, now)?;
                // What Flask holds after loading (a date it can't read is None).
                json::write_map_as_loaded(&mut out, &d.data);
                d.key_index
            }
            Self::Starlette(c) => write_plain(&mut out, c.decode(cookie, now)?)?,
            Self::Django(c) => write_plain(&mut out, c.decode(cookie, now)?)?,
        };
        Ok((out, index))
    }

    /// Parses the session text as the format's JSON and signs it.
    fn sign(&self, text: &str, timestamp: u64) -> Result<String, String> {
        let plain = |text: &str| {
            json::parse_plain_map(text.as_bytes())
                .map_err(|e| format!("BadPayload: the session is not a JSON object: {e}"))
        };
        match self {
            Self::Flask(c) => json::parse_map(text.as_bytes())
                .map(|data| c.encode(&data, timestamp))
                .map_err(|e| format!("BadPayload: the session is not tagged JSON: {e}")),
            Self::Starlette(c) => c
                .encode(&plain(text)?, timestamp)
                .map_err(|e| e.to_string()),
            Self::Django(c) => c
                .encode(&plain(text)?, timestamp)
                .map_err(|e| e.to_string()),
        }
    }
}

/// Writes a plain-JSON session compactly; gives the key index.
fn write_plain(
    out: &mut String,
    loaded: websession_core::itsdangerous::Loaded<Map>,
) -> Result<usize, DecodeError> {
    json::write_plain_map(out, &loaded.value, PlainJson::Compact)
        .map_err(|_| PayloadError::Shape)?;
    Ok(loaded.key_index)
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

/// The current key and the fallbacks of subcommand `sub`, as one ring
/// (fallbacks given oldest first, as Flask and Django list them), and the
/// fallbacks with their sources.
fn key_ring(
    key: &KeyArgs,
    fallbacks: &FallbackArgs,
    matches: &ArgMatches,
    sub: &str,
) -> anyhow::Result<(KeyRing, Vec<keys::Fallback>)> {
    stdin_once(key.files().into_iter().chain(fallbacks.files()))?;
    let current = key.key()?;
    let sub_matches = matches
        .subcommand_matches(sub)
        .ok_or_else(|| anyhow!("internal error: no arguments for {sub}"))?;
    let fallbacks = fallbacks.keys(sub_matches)?;
    let ring = KeyRing::new(current).with_fallbacks(fallbacks.iter().map(|f| f.key.clone()));
    Ok((ring, fallbacks))
}

/// Unix seconds as RFC 3339, if the date exists.
fn rfc3339(secs: u64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

fn now() -> u64 {
    unix_seconds(time::OffsetDateTime::now_utc())
}

/// Runs a command; `matches` are those of the whole command line.
fn run(command: Command, matches: &ArgMatches) -> anyhow::Result<Outcome> {
    match command {
        Command::Decode { format, cookie } => {
            let cookie = cookie.trim();
            decode(format.unwrap_or_else(|| Format::detect(cookie)), cookie)
        }
        Command::Verify {
            key,
            fallbacks,
            format,
            max_age,
            now: at,
            cookie,
        } => {
            let (keys, fallbacks) = key_ring(&key, &fallbacks, matches, "verify")?;
            let codec = Codec::new(
                format,
                &keys,
                max_age.unwrap_or_else(|| format.default_max_age()),
            );
            match codec.verify(cookie.trim(), at.unwrap_or_else(now)) {
                Ok((out, key_index)) => {
                    println!("{out}");
                    // key_index counts fallbacks newest first; people give them oldest first.
                    let n = fallbacks.len();
                    if let Some(i) = n.checked_sub(key_index).filter(|_| key_index > 0) {
                        eprintln!(
                            "note: verified with fallback key {} of {n} ({}); \
                             {} re-signs it with SECRET_KEY on the next write",
                            i + 1,
                            fallbacks[i].source,
                            format.framework()
                        );
                    }
                    Ok(Outcome::Ok)
                }
                Err(e) => Ok(report_invalid(&e)),
            }
        }
        Command::Sign {
            key,
            format,
            timestamp,
            json: text,
        } => {
            let codec = Codec::new(format, &KeyRing::new(key.key()?), format.default_max_age());
            match codec.sign(&text, timestamp.unwrap_or_else(now)) {
                Ok(cookie) => {
                    println!("{cookie}");
                    Ok(Outcome::Ok)
                }
                Err(reason) => {
                    eprintln!("{reason}");
                    Ok(Outcome::Invalid)
                }
            }
        }
        Command::Stored {
            format,
            store,
            signed,
            key_prefix,
            json,
            table,
            session_class,
            key,
            fallbacks,
            cookie,
        } => {
            let keys = if format == stored::StoredFormat::Django || signed {
                Some(key_ring(&key, &fallbacks, matches, "stored")?.0)
            } else {
                None
            };
            let request = stored::Request {
                format,
                store: &store,
                keys,
                key_prefix: key_prefix.as_deref(),
                json,
                table: table.as_deref(),
                session_class: session_class.as_deref(),
                cookie: cookie.trim(),
            };
            match stored::load(&request, now())? {
                stored::Found::Session(json, expires_at) => {
                    println!("{json}");
                    eprintln!(
                        "expires at {} (Unix {expires_at})",
                        rfc3339(expires_at).unwrap_or_else(|| "?".into())
                    );
                    Ok(Outcome::Ok)
                }
                stored::Found::Nothing(why) => {
                    eprintln!("{why}");
                    Ok(Outcome::Invalid)
                }
            }
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
            format,
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
            let target = audit::Target::parse(format, cookie.trim()).ok_or_else(|| {
                let sep = if format == Format::Django { ':' } else { '.' };
                anyhow!(
                    "the cookie does not have the shape PAYLOAD{sep}TIMESTAMP{sep}SIGNATURE of a {} cookie",
                    format.framework()
                )
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

fn decode(format: Format, cookie: &str) -> anyhow::Result<Outcome> {
    let limit = websession_core::codec::DEFAULT_MAX_DECOMPRESSED;
    let peeked = match format {
        Format::Flask => flask::peek(cookie, limit),
        Format::Starlette => starlette::peek(cookie),
        Format::Django => django_signing::peek(cookie, limit),
    };
    match peeked {
        Ok((payload, timestamp)) => {
            let mut out = String::new();
            let written = match format {
                Format::Flask => {
                    json::parse_value(&payload).map(|v| json::write_value(&mut out, &v))
                }
                _ => json::parse_plain_map(&payload).map(|m| {
                    // Plain JSON always has a plain form.
                    let _ = json::write_plain_map(&mut out, &m, PlainJson::Compact);
                }),
            };
            if let Err(e) = written {
                return Ok(report_invalid(&DecodeError::BadPayload(e)));
            }
            println!("{out}");
            let when = rfc3339(timestamp).unwrap_or_else(|| "out of range".into());
            let which = match format {
                Format::Flask => String::new(),
                other => format!(" ({} cookie)", other.framework()),
            };
            eprintln!("signed at {timestamp} ({when}){which}; the signature was NOT checked");
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
