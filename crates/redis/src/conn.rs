//! [`Conn`]: a single Redis or a Cluster behind one `ConnectionLike`.
//!
//! On a single Redis, commands go through a [`Batcher`]: the commands that
//! the tasks of one scheduler turn issue are written together, as one
//! pipeline, in one write (see the crate docs' "Round trips").

use std::sync::{Arc, Mutex, PoisonError};

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value as RValue};
use tokio::sync::oneshot;

#[derive(Clone)]
/// One connection to a single Redis or to a Cluster.
pub(crate) enum Conn {
    Single(Arc<Batcher>),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, RValue> {
        match self {
            Self::Single(c) => Box::pin(c.send(cmd.clone())),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<RValue>> {
        match self {
            Self::Single(c) => {
                let mut conn = c.conn.clone();
                Box::pin(async move { conn.req_packed_commands(cmd, offset, count).await })
            }
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.conn.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// A command waiting for the next batch, and where its reply goes.
struct Waiting {
    cmd: Cmd,
    reply: oneshot::Sender<RedisResult<RValue>>,
}

/// Sends the commands of a single Redis in batches: the first command
/// queued spawns a flush task that first yields, so every task the
/// scheduler runs before it can queue its command too, then writes the
/// queue as one pipeline (one write, one response timer, one clone of the
/// connection manager) and hands each reply to its command. Replies are
/// per command: a command's error reply (a script error, `NOSCRIPT`) is its
/// own; a connection error or a timeout fails the whole batch.
pub(crate) struct Batcher {
    conn: ConnectionManager,
    queue: Mutex<Vec<Waiting>>,
}

impl Batcher {
    pub(crate) fn new(conn: ConnectionManager) -> Arc<Self> {
        Arc::new(Self {
            conn,
            queue: Mutex::new(Vec::new()),
        })
    }

    pub(crate) async fn send(self: &Arc<Self>, cmd: Cmd) -> RedisResult<RValue> {
        let (reply, receive) = oneshot::channel();
        let first = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.push(Waiting { cmd, reply });
            queue.len() == 1
        };
        if first {
            tokio::spawn(Arc::clone(self).flush());
        }
        match receive.await {
            Ok(result) => result,
            // The flush task was dropped: its runtime is shutting down.
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "the Redis batch was dropped before its reply",
            )
            .into()),
        }
    }

    async fn flush(self: Arc<Self>) {
        // Let the other runnable tasks queue their commands first.
        tokio::task::yield_now().await;
        let batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner));
        if batch.is_empty() {
            return;
        }
        let mut pipe = Pipeline::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for Waiting { cmd, reply } in batch {
            // A caller that is gone (a dropped request) sends nothing.
            if !reply.is_closed() {
                pipe.add_command(cmd);
                replies.push(reply);
            }
        }
        if replies.is_empty() {
            return;
        }
        let mut conn = self.conn.clone();
        match conn.req_packed_commands(&pipe, 0, replies.len()).await {
            Ok(values) => {
                let mut values = values.into_iter();
                for reply in replies {
                    let value = values.next().ok_or_else(|| {
                        RedisError::from((
                            redis::ErrorKind::ResponseError,
                            "a Redis batch got fewer replies than commands",
                        ))
                    });
                    // The caller may have gone (a dropped request): fine.
                    let _ = reply.send(value);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(copy_error(&e)));
                }
            }
        }
    }
}

/// The same failure for another command of the batch: an I/O error (an
/// outage, a timeout) stays an I/O error of the same kind.
fn copy_error(e: &RedisError) -> RedisError {
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
        let kind = if e.is_timeout() {
            std::io::ErrorKind::TimedOut
        } else if e.is_connection_refusal() {
            std::io::ErrorKind::ConnectionRefused
        } else {
            std::io::ErrorKind::ConnectionReset
        };
        std::io::Error::new(kind, e.to_string()).into()
    } else {
        RedisError::from((e.kind(), "the Redis batch failed", e.to_string()))
    }
}
