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

/// A command waiting for the next batch, the command that must follow it
/// in the same write (a `WAIT` after a script), and where the replies go.
struct Waiting {
    cmd: Cmd,
    then: Option<Cmd>,
    reply: oneshot::Sender<RedisResult<Replies>>,
}

/// The replies of one [`Waiting`]: its command's, and its follower's.
type Replies = (RValue, Option<RValue>);

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
        Ok(self.queue_up(cmd, None).await?.0)
    }

    /// Sends `cmd` and then `then` in the same batch, one after the other
    /// on the same connection in the same write: a `WAIT` sent this way
    /// counts the replicas that have `cmd`, even if the connection manager
    /// replaces its connection between two batches.
    pub(crate) async fn send_pair(
        self: &Arc<Self>,
        cmd: Cmd,
        then: Cmd,
    ) -> RedisResult<(RValue, RValue)> {
        match self.queue_up(cmd, Some(then)).await? {
            (first, Some(second)) => Ok((first, second)),
            (_, None) => Err(RedisError::from((
                redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
                "a Redis batch lost the reply of a command",
            ))),
        }
    }

    async fn queue_up(self: &Arc<Self>, cmd: Cmd, then: Option<Cmd>) -> RedisResult<Replies> {
        let (reply, receive) = oneshot::channel();
        let first = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.push(Waiting { cmd, then, reply });
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
        let mut commands = 0;
        for Waiting { cmd, then, reply } in batch {
            // A caller that is gone (a dropped request) sends nothing.
            if !reply.is_closed() {
                pipe.add_command(cmd);
                commands += 1;
                let paired = then.is_some();
                if let Some(then) = then {
                    pipe.add_command(then);
                    commands += 1;
                }
                replies.push((reply, paired));
            }
        }
        if replies.is_empty() {
            return;
        }
        let mut conn = self.conn.clone();
        match conn.req_packed_commands(&pipe, 0, commands).await {
            Ok(values) => {
                let mut values = values.into_iter();
                let mut next = || {
                    values.next().ok_or_else(|| {
                        RedisError::from((
                            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
                            "a Redis batch got fewer replies than commands",
                        ))
                    })
                };
                for (reply, paired) in replies {
                    let value = next()
                        .and_then(|first| Ok((first, if paired { Some(next()?) } else { None })));
                    // The caller may have gone (a dropped request): fine.
                    let _ = reply.send(value);
                }
            }
            Err(e) => {
                for (reply, _) in replies {
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
