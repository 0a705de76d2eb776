//! `websession`: decode, verify, sign and audit Flask session cookies.
//!
//! The command-line interface is a contract: scripts depend on its output and
//! exit codes (0 valid/found, 1 invalid/not found, 2 usage error).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use websession_core::{flask, json, unix_seconds, DecodeError, FlaskCodec, Key, KeyError, KeyRing};

mod audit;

/// Exit code of a usage error (bad arguments, no key, unreadable files).
const USAGE: u8 = 2;

/// The current key as text (Flask's `SECRET_KEY`), when no key is on the command line.
const ENV_KEY: &str = "WEBSESSION_SECRET_KEY";
/// The current key as hex, when no key is on the command line.
const ENV_KEY_HEX: &str = "WEBSESSION_SECRET_KEY_HEX";
/// Fallback keys as hex, comma-separated, oldest first, when none is on the command line.
const ENV_FALLBACKS_HEX: &str = "WEBSESSION_SECRET_KEY_FALLBACKS_HEX";

/// A key file larger than this is the wrong file (or `/dev/zero`), not a key.
const MAX_KEY_FILE: usize = 64 * 1024;

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

/// Where the current key comes from: one of these, or else the environment.
#[derive(Args)]
#[group(id = "key", multiple = false)]
struct KeyArgs {
    /// The secret key as text in a file: its bytes, less one trailing newline; `-` reads stdin.
    #[arg(long, value_name = "PATH", help_heading = "Keys")]
    key_file: Option<PathBuf>,
    /// The secret key as hex in a file; `-` reads stdin.
    #[arg(long, value_name = "PATH", help_heading = "Keys")]
    key_hex_file: Option<PathBuf>,
    /// The secret key as hex, in argv: other users can read it (ps, /proc). For test vectors.
    #[arg(long, value_name = "HEX", help_heading = "Keys")]
    key_hex: Option<String>,
}

impl KeyArgs {
    /// The flag and path of each key file, for the standard-input check.
    fn files(&self) -> Vec<(&'static str, &Path)> {
        let mut files = Vec::new();
        if let Some(p) = &self.key_file {
            files.push(("--key-file", p.as_path()));
        }
        if let Some(p) = &self.key_hex_file {
            files.push(("--key-hex-file", p.as_path()));
        }
        files
    }

    /// The key from the command line, or else from `WEBSESSION_SECRET_KEY` (text)
    /// or `WEBSESSION_SECRET_KEY_HEX`; never from both variables.
    fn key(&self) -> anyhow::Result<Key> {
        if let Some(path) = &self.key_file {
            return text_key_file("--key-file", path);
        }
        if let Some(path) = &self.key_hex_file {
            return hex_key_file("--key-hex-file", path);
        }
        if let Some(hex) = &self.key_hex {
            return Key::from_hex(hex).context("--key-hex");
        }
        match (env_var(ENV_KEY)?, env_var(ENV_KEY_HEX)?) {
            (Some(_), Some(_)) => {
                bail!("both {ENV_KEY} and {ENV_KEY_HEX} are set: which key is meant? Unset one")
            }
            (Some(text), None) => Key::from_utf8(&text).context(ENV_KEY),
            (None, Some(hex)) => Key::from_hex(&hex).context(ENV_KEY_HEX),
            (None, None) => bail!(
                "no key: give --key-file PATH (`-` for standard input) or --key-hex-file PATH, \
                 or set {ENV_KEY} (text) or {ENV_KEY_HEX}"
            ),
        }
    }
}

/// Older keys that still verify (Flask's `SECRET_KEY_FALLBACKS`), oldest first.
#[derive(Args)]
struct FallbackArgs {
    /// An older key as text in a file, read like --key-file; repeat, oldest first.
    #[arg(long, value_name = "PATH", help_heading = "Keys")]
    fallback_key_file: Vec<PathBuf>,
    /// An older key as hex in a file; repeat, oldest first.
    #[arg(long, value_name = "PATH", help_heading = "Keys")]
    fallback_key_hex_file: Vec<PathBuf>,
    /// An older key as hex, in argv: other users can read it (ps, /proc). For test vectors.
    #[arg(long, value_name = "HEX", help_heading = "Keys")]
    fallback_key_hex: Vec<String>,
}

/// One fallback key and where it came from (never the key itself).
struct Fallback {
    key: Key,
    source: String,
}

impl FallbackArgs {
    fn files(&self) -> impl Iterator<Item = (&'static str, &Path)> {
        let text = self
            .fallback_key_file
            .iter()
            .map(|p| ("--fallback-key-file", p.as_path()));
        let hex = self
            .fallback_key_hex_file
            .iter()
            .map(|p| ("--fallback-key-hex-file", p.as_path()));
        text.chain(hex)
    }

    /// The fallbacks in the order they were given across the three flags
    /// (`matches` are the subcommand's), or else from the environment.
    fn keys(&self, matches: &ArgMatches) -> anyhow::Result<Vec<Fallback>> {
        enum Given<'a> {
            File(&'a Path),
            HexFile(&'a Path),
            Hex(&'a str),
        }
        let at = |id: &str| -> Vec<usize> {
            matches
                .indices_of(id)
                .map(Iterator::collect)
                .unwrap_or_default()
        };
        let mut given: Vec<(usize, Given<'_>)> = Vec::new();
        for (i, p) in at("fallback_key_file")
            .into_iter()
            .zip(&self.fallback_key_file)
        {
            given.push((i, Given::File(p)));
        }
        for (i, p) in at("fallback_key_hex_file")
            .into_iter()
            .zip(&self.fallback_key_hex_file)
        {
            given.push((i, Given::HexFile(p)));
        }
        for (i, h) in at("fallback_key_hex")
            .into_iter()
            .zip(&self.fallback_key_hex)
        {
            given.push((i, Given::Hex(h)));
        }
        let count = self.fallback_key_file.len()
            + self.fallback_key_hex_file.len()
            + self.fallback_key_hex.len();
        if given.len() != count {
            bail!("internal error: the order of the fallback keys is unknown");
        }
        given.sort_by_key(|(i, _)| *i);
        if given.is_empty() {
            return env_fallbacks();
        }
        given
            .into_iter()
            .map(|(_, form)| {
                let (key, source) = match form {
                    Given::File(p) => (
                        text_key_file("--fallback-key-file", p)?,
                        format!("--fallback-key-file {}", p.display()),
                    ),
                    Given::HexFile(p) => (
                        hex_key_file("--fallback-key-hex-file", p)?,
                        format!("--fallback-key-hex-file {}", p.display()),
                    ),
                    Given::Hex(hex) => (
                        Key::from_hex(hex).context("--fallback-key-hex")?,
                        "--fallback-key-hex".to_owned(),
                    ),
                };
                Ok(Fallback { key, source })
            })
            .collect()
    }
}

/// `WEBSESSION_SECRET_KEY_FALLBACKS_HEX`: hex keys separated by commas, oldest first.
fn env_fallbacks() -> anyhow::Result<Vec<Fallback>> {
    let Some(list) = env_var(ENV_FALLBACKS_HEX)? else {
        return Ok(Vec::new());
    };
    if list.trim().is_empty() {
        return Ok(Vec::new());
    }
    list.split(',')
        .enumerate()
        .map(|(i, hex)| {
            let key = Key::from_hex(hex)
                .with_context(|| format!("{ENV_FALLBACKS_HEX}, key {}", i + 1))?;
            Ok(Fallback {
                key,
                source: ENV_FALLBACKS_HEX.to_owned(),
            })
        })
        .collect()
}

/// An environment variable, `None` when unset; an error when not UTF-8.
fn env_var(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("{name} is not UTF-8; put the key in a file and use --key-file or --key-hex-file")
        }
    }
}

/// Refuses two key files on standard input: it holds one key only.
fn stdin_once<'a>(files: impl IntoIterator<Item = (&'static str, &'a Path)>) -> anyhow::Result<()> {
    let on_stdin: Vec<&str> = files
        .into_iter()
        .filter(|(_, p)| is_stdin(p))
        .map(|(flag, _)| flag)
        .collect();
    if on_stdin.len() > 1 {
        bail!(
            "standard input (`-`) holds one key only, but it is given to {}: \
             put the other keys in files",
            on_stdin.join(" and ")
        );
    }
    Ok(())
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How an error names a key file: its path, or standard input.
fn file_name(flag: &str, path: &Path) -> String {
    if is_stdin(path) {
        format!("{flag} - (standard input)")
    } else {
        format!("{flag} {}", path.display())
    }
}

/// The whole of a key file, or of standard input for `-`, up to [`MAX_KEY_FILE`].
fn read_key_file(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    let name = || file_name(flag, path);
    let mut bytes = Vec::new();
    let limit = (MAX_KEY_FILE + 1) as u64;
    let read = if is_stdin(path) {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprintln!("reading the key for {flag} from standard input; end it with Ctrl-D");
        }
        stdin.lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    read.with_context(name)?;
    if bytes.len() > MAX_KEY_FILE {
        bail!(
            "{}: larger than {} KiB, which is no key",
            name(),
            MAX_KEY_FILE / 1024
        );
    }
    Ok(bytes)
}

/// A key file holding Flask's `SECRET_KEY` as it is, less one `\n` or `\r\n`.
fn text_key_file(flag: &str, path: &Path) -> anyhow::Result<Key> {
    let mut bytes = read_key_file(flag, path)?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    Key::from_bytes(bytes).with_context(|| file_name(flag, path))
}

/// A key file holding the key as hex, whitespace around it ignored.
fn hex_key_file(flag: &str, path: &Path) -> anyhow::Result<Key> {
    let bytes = read_key_file(flag, path)?;
    let key = match std::str::from_utf8(&bytes) {
        Ok(text) => Key::from_hex(text),
        Err(_) => Err(KeyError::BadHex),
    };
    key.with_context(|| file_name(flag, path))
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
