//! Pre-makes the benchmark's sessions: `POST /petname` with a distinct pet
//! name COUNT times, over a few keep-alive connections, and writes the
//! cookies each response set as one `Cookie` header value per line (in
//! request order). A response that sets no cookie (the bare frameworks)
//! gives `none=1`.
//!
//! ```text
//! bench-cookies ADDR COUNT OUT
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};

use anyhow::{bail, Context};

/// Connections in parallel: enough to keep one server core busy.
const CONNECTIONS: usize = 8;

struct Conn {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    /// One `POST /petname`; the response's cookies as a `Cookie` header value.
    fn post(&mut self, pet: &str) -> anyhow::Result<String> {
        let body = format!("pet={pet}");
        let request = format!(
            "POST /petname HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(self.addr)
                    .with_context(|| format!("connect {}", self.addr))?;
                s.set_nodelay(true)?;
                self.stream.insert(BufReader::new(s))
            }
        };
        stream.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        stream.read_line(&mut line)?;
        let status = line.split_whitespace().nth(1).unwrap_or("");
        if !status.starts_with('2') && !status.starts_with('3') {
            bail!("POST /petname answered {}", line.trim_end());
        }
        let mut close = line.starts_with("HTTP/1.0");
        let mut length = 0usize;
        let mut cookies: Vec<String> = Vec::new();
        loop {
            line.clear();
            if stream.read_line(&mut line)? == 0 {
                bail!("connection closed in the response headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "set-cookie" => {
                    let pair = value.split(';').next().unwrap_or("").trim();
                    if pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()) {
                        cookies.push(pair.to_owned());
                    }
                }
                "content-length" => length = value.parse().context("Content-Length")?,
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "transfer-encoding" => bail!("chunked responses are not supported"),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        std::io::Read::read_exact(stream, &mut body)?;
        if close {
            self.stream = None;
        }
        Ok(if cookies.is_empty() {
            "none=1".to_owned()
        } else {
            cookies.join("; ")
        })
    }
}

fn main() -> anyhow::Result<()> {
    let usage = "usage: bench-cookies ADDR COUNT OUT";
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args.next().context(usage)?.parse()?;
    let count: usize = args.next().context(usage)?.parse()?;
    let out = args.next().context(usage)?;
    let lines = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|t| {
                scope.spawn(move || -> anyhow::Result<Vec<(usize, String)>> {
                    let mut conn = Conn { addr, stream: None };
                    (t..count)
                        .step_by(CONNECTIONS)
                        .map(|i| Ok((i, conn.post(&format!("Warm{i}"))?)))
                        .collect()
                })
            })
            .collect();
        let mut lines = Vec::with_capacity(count);
        for w in workers {
            match w.join() {
                Ok(part) => lines.extend(part?),
                Err(_) => bail!("a client thread panicked"),
            }
        }
        Ok(lines)
    })?;
    let mut lines = lines;
    lines.sort_unstable_by_key(|(i, _)| *i);
    let mut text = String::with_capacity(lines.len() * 128);
    for (_, cookie) in &lines {
        text.push_str(cookie);
        text.push('\n');
    }
    std::fs::write(&out, text).with_context(|| format!("writing {out}"))?;
    Ok(())
}
