//! [`Logins`]: "log out everywhere", "log out my other sessions" and the
//! devices page, the same calls in every mode that can end a session from
//! the server.

use std::fmt;
use std::sync::Arc;

use websession_core::store::SessionStore;
use websession_core::{Clock, Map};

use crate::error::SessionError;
use crate::revocation::Revocation;
use crate::session::Session;

/// What the server can do about a user's sessions beyond the request's
/// own: log them out everywhere, log out all but this one, list them.
///
/// Get it from the sessions when the app starts, and keep it in the app's
/// state: [`StoreSessions::logins`](crate::StoreSessions::logins) (always),
/// [`CookieSessions::logins`](crate::CookieSessions::logins) (with a
/// [`Revocation`]), or [`Sessions::logins`](crate::Sessions::logins).
/// Plain cookie sessions can't end a copied cookie before it expires, so
/// they have no `Logins`: asking for one is a [`ConfigError`](crate::ConfigError)
/// at start-up, never a silent no-op in a handler.
///
/// | | store mode | cookies with a [`Revocation`] |
/// |---|---|---|
/// | [`log_out_everywhere`](Self::log_out_everywhere) | the user's records are deleted | the user's generation moves on: every cookie of theirs is refused |
/// | [`log_out_others`](Self::log_out_others) | the user's other records are deleted | the generation moves on; this session is kept at the new one |
/// | [`devices`](Self::devices) | the user's sessions | `None`: the server keeps no list of cookies |
///
/// A store-mode [`Revocation`] (Flask-Login's remember cookies, see
/// [`StoreSessions::with_revocation`](crate::StoreSessions::with_revocation))
/// is moved on too, so no remember cookie logs the user back in.
///
/// # Examples
///
/// ```
/// use websession::store::MemoryStore;
/// use websession::{Logins, Session, SessionConfig, SessionError, Sessions};
///
/// async fn log_out_everywhere(logins: &Logins, session: &Session) -> Result<(), SessionError> {
///     if let Some(user) = session.user() {
///         logins.log_out_everywhere(&user).await?;
///     }
///     session.purge(); // and this browser's cookie goes at once
///     Ok(())
/// }
///
/// let sessions = Sessions::store(MemoryStore::new(), SessionConfig::default())?;
/// let logins: Logins = sessions.logins();
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Logins {
    reach: Reach,
}

#[derive(Clone)]
enum Reach {
    Store {
        store: Arc<dyn SessionStore>,
        revocation: Option<Revocation>,
        clock: Clock,
    },
    Cookies(Revocation),
}

impl fmt::Debug for Logins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.reach {
            Reach::Store { .. } => "store",
            Reach::Cookies(_) => "revocable cookies",
        };
        f.debug_struct("Logins").field("mode", &mode).finish()
    }
}

/// The logins of cookie sessions kept in `revocation`'s store, without a
/// [`Sessions`](crate::Sessions): for a process that only ends sessions (an
/// admin tool, a password-reset worker) beside the apps that serve them.
///
/// ```
/// use websession::{Logins, Revocation};
/// # async fn f() -> Result<(), websession::SessionError> {
/// let revocation = Revocation::new(websession::store::MemoryRevocations::new());
/// Logins::from(revocation).log_out_everywhere("alice").await?;
/// # Ok(()) }
/// ```
impl From<Revocation> for Logins {
    fn from(revocation: Revocation) -> Self {
        Self {
            reach: Reach::Cookies(revocation),
        }
    }
}

/// One of a user's sessions, as [`Logins::devices`] lists them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Device {
    /// Whether this is the session of the request that asked.
    pub current: bool,
    /// When the session was created, Unix seconds.
    pub created_at: u64,
    /// When it expires unless used again, Unix seconds.
    pub expires_at: u64,
    /// Its data, for what the app stored at login (a browser's name, the
    /// login time).
    pub data: Map,
}

impl Logins {
    pub(crate) fn store(
        store: Arc<dyn SessionStore>,
        revocation: Option<Revocation>,
        clock: Clock,
    ) -> Self {
        Self {
            reach: Reach::Store {
                store,
                revocation,
                clock,
            },
        }
    }

    /// Logs `user` out of every session, the one asking included (its
    /// cookie is refused from its next request; [`Session::purge`] ends it
    /// in this one). Also the call for an admin page or a password reset.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store can't be reached: nothing is
    /// promised then, so say so to the user.
    pub async fn log_out_everywhere(&self, user: &str) -> Result<(), SessionError> {
        match &self.reach {
            Reach::Store {
                store, revocation, ..
            } => {
                store.delete_all_for(user).await?;
                if let Some(revocation) = revocation {
                    revocation.revoke_all_for(user).await?;
                }
            }
            Reach::Cookies(revocation) => {
                revocation.revoke_all_for(user).await?;
            }
        }
        Ok(())
    }

    /// Logs the user of `session` out of every other session, and keeps
    /// this one. `Ok(false)` when nothing was done: `session` has no user
    /// ([`Session::log_in`]), was never saved, or (cookies) was itself
    /// revoked already, or a concurrent revocation of the user came in
    /// between; the app should then ask the user to log in again.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store can't be reached.
    pub async fn log_out_others(&self, session: &Session) -> Result<bool, SessionError> {
        match &self.reach {
            Reach::Store {
                store,
                revocation,
                clock,
            } => {
                let (Some(user), Some(id)) = (session.user(), session.id()) else {
                    return Ok(false);
                };
                store
                    .delete_others_of(&user, &store.id_format().key(&id), clock.unix_seconds())
                    .await?;
                if let Some(revocation) = revocation {
                    // Remember cookies issued before end too; this session
                    // has no generation of its own in store mode.
                    revocation.revoke_all_for(&user).await?;
                }
                Ok(true)
            }
            Reach::Cookies(revocation) => Ok(revocation.revoke_others(session).await?.is_some()),
        }
    }

    /// The sessions of the user of `session` ("where you're logged in"),
    /// this one marked [`Device::current`], most recently created first.
    /// `Ok(None)` when the mode keeps no list (cookie sessions: the server
    /// sees a cookie only when it comes back); an empty list when `session`
    /// has no user.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store can't be reached.
    pub async fn devices(&self, session: &Session) -> Result<Option<Vec<Device>>, SessionError> {
        let Reach::Store { store, clock, .. } = &self.reach else {
            return Ok(None);
        };
        let Some(user) = session.user() else {
            return Ok(Some(Vec::new()));
        };
        let this = session.id().map(|id| store.id_format().key(&id));
        let mut devices: Vec<Device> = store
            .sessions_of(&user, clock.unix_seconds())
            .await?
            .into_iter()
            .map(|(id, record)| Device {
                current: Some(&id) == this.as_ref(),
                created_at: record.created_at,
                expires_at: record.expires_at,
                data: record.data.into_map(),
            })
            .collect();
        devices.sort_by_key(|d| (!d.current, std::cmp::Reverse(d.created_at)));
        Ok(Some(devices))
    }

    /// How long after a logout another process may still accept a copy of
    /// the cookie: the [`Revocation`]'s staleness in the cookie modes
    /// (see [`Revocation::with_staleness`]); `None` in store mode, where a
    /// deleted record is gone for every process at once.
    #[must_use]
    pub fn staleness(&self) -> Option<std::time::Duration> {
        match &self.reach {
            Reach::Store { .. } => None,
            Reach::Cookies(revocation) => Some(revocation.staleness()),
        }
    }
}
