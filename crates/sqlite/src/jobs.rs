//! The jobs queued to the store's threads: a write for the writer, a read
//! for a reader, and the channel each answers on.

use std::time::Instant;

use tokio::sync::oneshot;
use websession_core::store::{ChangeSet, IdHash, Record, StoreError, Verdict};

/// The most writes the writer thread commits in one transaction.
pub const MAX_BATCH: usize = 256;

pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

pub(crate) enum Write {
    Create {
        id: IdHash,
        record: Record,
        now: i64,
    },
    Update {
        id: IdHash,
        changes: ChangeSet,
        now: i64,
    },
    Cycle {
        old: IdHash,
        new: IdHash,
        changes: ChangeSet,
        now: i64,
    },
    Delete {
        id: IdHash,
    },
    DeleteAllFor {
        user: String,
    },
    DeleteOthersOf {
        user: String,
        keep: IdHash,
        now: i64,
    },
    DeleteExpired {
        now: i64,
    },
    MaxSize(Option<u64>),
    /// Adds one to a user's generation; answers the new one.
    Bump {
        user: String,
    },
    Deny {
        id: IdHash,
        until: i64,
    },
    DeleteExpiredDenials {
        now: i64,
    },
}

pub(crate) struct WriteJob {
    pub(crate) op: Write,
    pub(crate) deadline: Instant,
    pub(crate) reply: Reply<u64>,
}

pub(crate) struct ReadJob {
    pub(crate) op: ReadOp,
    pub(crate) now: i64,
    pub(crate) deadline: Instant,
}

pub(crate) enum ReadOp {
    Load {
        id: IdHash,
        reply: Reply<Option<Record>>,
    },
    SessionsOf {
        user: String,
        reply: Reply<Vec<(IdHash, Record)>>,
    },
    Check {
        user: Option<String>,
        id: IdHash,
        reply: Reply<Verdict>,
    },
    Generation {
        user: String,
        reply: Reply<u64>,
    },
}
