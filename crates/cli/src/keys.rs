//! Where the CLI's keys come from: a file, standard input, the environment,
//! or (for scripts and test vectors) a hex argument. Keys never reach
//! errors or logs; errors name the flag and the file.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{ArgMatches, Args};
use websession_core::{Key, KeyError};

/// The current key as text (Flask's `SECRET_KEY`), when no key is on the command line.
const ENV_KEY: &str = "WEBSESSION_SECRET_KEY";
/// The current key as hex, when no key is on the command line.
const ENV_KEY_HEX: &str = "WEBSESSION_SECRET_KEY_HEX";
/// Fallback keys as hex, comma-separated, oldest first, when none is on the command line.
const ENV_FALLBACKS_HEX: &str = "WEBSESSION_SECRET_KEY_FALLBACKS_HEX";

/// A key file larger than this is the wrong file (or `/dev/zero`), not a key.
const MAX_KEY_FILE: usize = 64 * 1024;

/// Where the current key comes from: one of these, or else the environment.
#[derive(Args)]
#[group(id = "key", multiple = false)]
pub(crate) struct KeyArgs {
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
    pub(crate) fn files(&self) -> Vec<(&'static str, &Path)> {
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
    pub(crate) fn key(&self) -> anyhow::Result<Key> {
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
pub(crate) struct FallbackArgs {
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
pub(crate) struct Fallback {
    pub(crate) key: Key,
    pub(crate) source: String,
}

impl FallbackArgs {
    pub(crate) fn files(&self) -> impl Iterator<Item = (&'static str, &Path)> {
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
    pub(crate) fn keys(&self, matches: &ArgMatches) -> anyhow::Result<Vec<Fallback>> {
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
pub(crate) fn stdin_once<'a>(
    files: impl IntoIterator<Item = (&'static str, &'a Path)>,
) -> anyhow::Result<()> {
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
