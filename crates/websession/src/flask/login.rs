//! [`Login`]: one request's Flask-Login (`current_user`, `login_user`,
//! `logout_user`, session protection), and the [`ClientInfo`] it reads.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use std::time::Duration;
use websession_core::cookie::find_cookie_unquoted;
use websession_core::flask_login::{session_identifier, SESSION_KEYS};
use websession_core::Value;

use super::login_manager::{user_id_text, FlaskLogin, SessionProtection, Settings};
use crate::session::{PendingSession, Session};

pub(crate) const USER_ID: &str = "_user_id";
const FRESH: &str = "_fresh";
const ID: &str = "_id";
pub(crate) const REMEMBER: &str = "_remember";
pub(crate) const REMEMBER_SECONDS: &str = "_remember_seconds";

/// What Flask-Login reads from a request besides the session: the client's
/// address and `User-Agent` (for the identifier) and the remember cookie.
///
/// Its `Debug` never shows the remember cookie.
///
/// # Examples
///
/// ```
/// use websession::flask::ClientInfo;
///
/// let client = ClientInfo::new()
///     .with_remote_addr("127.0.0.1")
///     .with_user_agent(b"curl/8.5.0");
/// assert_eq!(client.identifier().len(), 128);
/// ```
#[derive(Default)]
pub struct ClientInfo {
    remote_addr: Option<String>,
    forwarded_for: Option<Vec<u8>>,
    user_agent: Option<Vec<u8>>,
    remember_cookie: Option<String>,
    identifier: OnceLock<String>,
}

impl fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientInfo")
            .field("remote_addr", &self.remote_addr)
            .field("has_remember_cookie", &self.remember_cookie.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientInfo {
    /// Nothing known (Flask-Login then hashes `None|None`).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The peer address as the server sees it (Flask's `remote_addr`).
    #[must_use]
    pub fn with_remote_addr(mut self, addr: impl Into<String>) -> Self {
        self.remote_addr = Some(addr.into());
        self
    }

    /// The raw `X-Forwarded-For` header, which Flask-Login prefers to the
    /// peer address when present (first item, stripped).
    #[must_use]
    pub fn with_forwarded_for(mut self, header: &[u8]) -> Self {
        self.forwarded_for = Some(header.to_vec());
        self
    }

    /// The raw `User-Agent` header.
    #[must_use]
    pub fn with_user_agent(mut self, header: &[u8]) -> Self {
        self.user_agent = Some(header.to_vec());
        self
    }

    /// The remember cookie's value (unquoted), if the request has one.
    #[must_use]
    pub fn with_remember_cookie(mut self, value: impl Into<String>) -> Self {
        self.remember_cookie = Some(value.into());
        self
    }

    /// What an adapter read from a request: the peer address and the raw
    /// `X-Forwarded-For`, `User-Agent` and `Cookie` headers.
    pub(crate) fn from_request<'a>(
        login: &FlaskLogin,
        remote_addr: Option<std::net::IpAddr>,
        forwarded_for: Option<&[u8]>,
        user_agent: Option<&[u8]>,
        cookie_headers: impl IntoIterator<Item = &'a [u8]>,
    ) -> Self {
        Self {
            remote_addr: remote_addr.map(|ip| ip.to_string()),
            forwarded_for: forwarded_for.map(<[u8]>::to_vec),
            user_agent: user_agent.map(<[u8]>::to_vec),
            remember_cookie: find_cookie_unquoted(cookie_headers, login.cookie_name())
                .map(std::borrow::Cow::into_owned),
            identifier: OnceLock::new(),
        }
    }

    /// Flask-Login's identifier of this client (`_create_identifier`),
    /// computed once.
    #[must_use]
    pub fn identifier(&self) -> &str {
        self.identifier.get_or_init(|| {
            session_identifier(
                self.remote_addr.as_deref(),
                self.forwarded_for.as_deref(),
                self.user_agent.as_deref(),
            )
        })
    }
}

/// A remember cookie that verified: its user, and (with revocation) the
/// user's current generation, which the cookie's is not below (`None` when
/// the revocation store failed open and nothing was checked).
type Remembered = Option<(String, Option<u64>)>;

/// What the middleware puts in the request for [`Login`]: the settings, the
/// client, and the user loaded in this request (Flask's `g._login_user`).
#[derive(Clone)]
pub(crate) struct LoginContext {
    pub(crate) login: FlaskLogin,
    client: Arc<ClientInfo>,
    /// `None` until loaded; then the user id, or `None` for anonymous.
    user: Arc<Mutex<Option<Option<String>>>>,
    /// With revocation: `None` until the remember cookie was checked
    /// against its user's generation (an async step the extractors run).
    remembered: Arc<Mutex<Option<Remembered>>>,
    /// The session travels in a cookie: only then is the remember cookie
    /// read or written (a header token must not come with an ambient
    /// cookie that logs in).
    remember_enabled: bool,
}

impl LoginContext {
    /// The context of one request; `cookie_transport` as the session's
    /// (see [`Opener::cookie_transport`](crate::state::Opener::cookie_transport)).
    pub(crate) fn new(login: FlaskLogin, mut client: ClientInfo, cookie_transport: bool) -> Self {
        if !cookie_transport {
            client.remember_cookie = None;
        }
        Self {
            login,
            client: Arc::new(client),
            user: Arc::new(Mutex::new(None)),
            remembered: Arc::new(Mutex::new(None)),
            remember_enabled: cookie_transport,
        }
    }

    /// The context the middleware makes for a request with this session
    /// (`None`: the session middleware is missing, an error it logs).
    pub(crate) fn for_request(
        login: FlaskLogin,
        client: ClientInfo,
        pending: Option<&PendingSession>,
    ) -> Self {
        // Without the session middleware (a misordered stack, logged by the
        // caller) nothing says the session travels in a cookie: no
        // remember cookie then.
        let cookie_transport = pending.is_some_and(PendingSession::cookie_transport);
        Self::new(login, client, cookie_transport)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, Option<Remembered>> {
        self.remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// With revocation configured: checks the request's remember cookie
    /// against its user's generation, once per request. A forged cookie
    /// costs no round trip (its digest is checked first); a known
    /// generation is answered from the revocation cache.
    pub(crate) async fn check_remember(&self, session: &Session) {
        // Most requests carry no remember cookie: nothing else is looked at.
        let Some(cookie) = self.client.remember_cookie.as_deref() else {
            return;
        };
        let Some(revocation) = session.revocation() else {
            return;
        };
        if self.remembered().is_some() {
            return;
        }
        let verdict = match self.login.inner.signer.verify_at(cookie) {
            Err(_) => None,
            Ok((user, generation)) => {
                match revocation.user_generation(user, session.opened_at()).await {
                    // The cookie's own generation is what the restored
                    // login records: never more than the credential gave.
                    Ok(current) if generation >= current => {
                        Some((user.to_owned(), Some(generation)))
                    }
                    Ok(_) => {
                        crate::metrics::cookie_rejected("RememberRevoked");
                        tracing::warn!(
                            target: "websession::security",
                            "remember cookie revoked (its user was logged out everywhere); not restoring the login"
                        );
                        None
                    }
                    Err(e) if revocation.fails_open() => {
                        tracing::error!(error = %e, "revocation store unavailable; failing open: the remember cookie is accepted unchecked");
                        Some((user.to_owned(), Some(generation)))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "revocation store unavailable; the remember cookie can't be checked and doesn't restore the login");
                        None
                    }
                }
            }
        };
        self.remembered().get_or_insert(verdict);
    }

    /// The after-request step for the request's session: run on a loaded
    /// session, or (with refresh each request) after loading it.
    pub(crate) async fn finish(&self, pending: &PendingSession, status: u16) -> Option<String> {
        let session = match pending.loaded() {
            Some(session) => session,
            None if self.login.inner.refresh_each_request && status < 500 => {
                pending.load().await.ok()?
            }
            None => return None,
        };
        let generation = match self.remember_enabled.then(|| session.revocation()) {
            Some(Some(revocation)) => self.issuing_generation(&revocation, &session, status).await,
            _ => None,
        };
        self.login
            .update_remember_cookie(&session, status, self.remember_enabled, generation)
    }

    /// With revocation: the generation a remember cookie issued now is bound
    /// to, if one is to be issued. A login in this request asks the store
    /// (and the session records the same generation), a restore reuses the
    /// one its cookie carried, and a refresh takes the one the session
    /// recorded at login. `None` (and no cookie) when there is none, or the
    /// store can't be reached.
    async fn issuing_generation(
        &self,
        revocation: &crate::Revocation,
        session: &Session,
        status: u16,
    ) -> Option<u64> {
        if status >= 500 {
            return None;
        }
        let setting = matches!(session.get_value(REMEMBER), Some(Value::Str(op)) if op == "set");
        if !setting && !self.login.inner.refresh_each_request {
            return None;
        }
        let user = user_id_text(&session.get_value(USER_ID)?)?;
        let answer = match session.login_in_request() {
            // Restored in this request: the generation its cookie was
            // checked against.
            Some((login, Some(known))) if login == user => Ok(known),
            // A login in this request: the user's generation now.
            Some((login, None)) if login == user => revocation.generation(&user).await,
            // A refresh: only the generation the session recorded at its
            // login (never the current one: a session revoked elsewhere,
            // still within this process's staleness, must not mint a
            // cookie that outlives the revocation). A session that records
            // no user (written by Flask, or in store mode) gets none.
            _ => {
                return session.recorded_generation(&user);
            }
        };
        match answer {
            Ok(generation) => {
                session.note_login_generation(&user, generation);
                Some(generation)
            }
            Err(e) => {
                tracing::error!(error = %e, "revocation store unavailable; no remember cookie is issued");
                None
            }
        }
    }
}

/// Options of [`Login::login_user_with`]: Flask-Login's `login_user`
/// arguments.
///
/// ```
/// use websession::flask::LoginOptions;
/// let remember_a_week = LoginOptions::default()
///     .with_remember(true)
///     .with_remember_duration(std::time::Duration::from_secs(7 * 86_400));
/// # let _ = remember_a_week;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginOptions {
    remember: bool,
    duration: Option<Duration>,
    fresh: bool,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            remember: false,
            duration: None,
            fresh: true,
        }
    }
}

impl LoginOptions {
    /// `remember=True`: issue the remember cookie.
    #[must_use]
    pub fn with_remember(mut self, remember: bool) -> Self {
        self.remember = remember;
        self
    }

    /// `duration=`: this login's remember cookie lasts this long (kept in
    /// the session as `_remember_seconds`).
    #[must_use]
    pub fn with_remember_duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// `fresh=`: whether the login counts as fresh. Default `true`.
    #[must_use]
    pub fn with_fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }
}

/// One request's Flask-Login: `current_user`, `login_user`,
/// `logout_user`, `login_fresh`, `confirm_login`, with Flask-Login's rules
/// on Flask's session keys (`_user_id`, `_fresh`, `_id`, `_remember`,
/// `_remember_seconds`).
///
/// Take it in a handler (axum and actix-web extractors, with
/// [`FlaskLogin`]'s middleware installed), or make one with
/// [`FlaskLogin::request`].
///
/// Where Flask-Login calls the app's `user_loader`, this gives the user id:
/// look the user up yourself, and treat an unknown id as anonymous.
///
/// # Examples
///
/// ```
/// use websession::flask::{FlashExt, Login, LoginOptions};
///
/// fn log_in(login: &Login, user_id: &str, remember: bool) {
///     login.login_user_with(user_id, LoginOptions::default().with_remember(remember));
///     login.session().flash("message", "Logged in successfully.");
/// }
///
/// fn profile(login: &Login) -> String {
///     match login.user_id() {
///         Some(id) if login.is_fresh() => format!("user {id}, fresh"),
///         Some(id) => format!("user {id}, restored from the remember cookie"),
///         None => "anonymous".into(),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Login {
    context: LoginContext,
    session: Session,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").finish_non_exhaustive()
    }
}

impl Login {
    pub(crate) fn from_parts(context: LoginContext, session: Session) -> Self {
        Self { context, session }
    }

    /// The session this login lives in.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    fn settings(&self) -> &Settings {
        &self.context.login.inner
    }

    fn cached_user(&self) -> std::sync::MutexGuard<'_, Option<Option<String>>> {
        self.context
            .user
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The logged-in user's id (`current_user.get_id()`), or `None` for an
    /// anonymous user. The first call in a request runs Flask-Login's
    /// `_load_user`: session protection, then `_user_id`, then the remember
    /// cookie (which, when valid, logs the user in again, not fresh).
    #[must_use]
    pub fn user_id(&self) -> Option<String> {
        let mut cached = self.cached_user();
        if let Some(user) = &*cached {
            return user.clone();
        }
        let user = self.load_user();
        *cached = Some(user.clone());
        user
    }

    /// With a [`Revocation`](crate::Revocation) configured, checks the
    /// request's remember cookie against its user's generation, so a cookie
    /// issued before [`Logins::log_out_everywhere`](crate::Logins::log_out_everywhere)
    /// no longer logs the user in. The axum and actix-web extractors call
    /// it; call it yourself after [`FlaskLogin::request`], before the first
    /// [`user_id`](Self::user_id). Without the check, a remember cookie
    /// doesn't restore a login when revocation is configured (it fails
    /// closed). Without revocation it does nothing.
    ///
    /// When the revocation store can't be reached, the cookie doesn't
    /// restore the login (the user is anonymous for this request; nothing is
    /// deleted), unless the revocation fails open.
    pub async fn check_remember_cookie(&self) {
        self.context.check_remember(&self.session).await;
    }

    /// Whether a user is logged in (`current_user.is_authenticated`).
    #[must_use]
    pub fn is_authenticated(&self) -> bool {
        self.user_id().is_some()
    }

    /// `login_fresh()`: whether the login happened in this session (not
    /// restored from the remember cookie, and not marked stale by basic
    /// session protection). Read [`user_id`](Self::user_id) first, as
    /// `fresh_login_required` does, so protection has run.
    #[must_use]
    pub fn is_fresh(&self) -> bool {
        self.session.get_value(FRESH).is_some_and(|v| v.truthy())
    }

    /// `login_remembered()`: the request has a remember cookie that
    /// verifies and that this session didn't ask to clear.
    #[must_use]
    pub fn is_remembered(&self) -> bool {
        self.remember_cookie_user().is_some()
    }

    /// `login_user(user)`: fresh, not remembered.
    pub fn login_user(&self, user_id: &str) {
        self.login_user_with(user_id, LoginOptions::default());
    }

    /// `login_user(user, remember, duration, fresh=...)`: sets `_user_id`,
    /// `_fresh`, `_id` (and `_remember`, `_remember_seconds`), as
    /// Flask-Login does. It also rotates the session (a new store id, a
    /// freshly issued cookie: see [`Session::cycle_id`]) and, in store mode,
    /// records the user (as [`Session::log_in`] does, without its key).
    pub fn login_user_with(&self, user_id: &str, options: LoginOptions) {
        let s = &self.session;
        s.insert_value(USER_ID, Value::from(user_id));
        s.insert_value(FRESH, Value::Bool(options.fresh));
        s.insert_value(ID, Value::from(self.context.client.identifier()));
        if options.remember {
            s.insert_value(REMEMBER, Value::from("set"));
            if let Some(d) = options.duration {
                s.insert_value(REMEMBER_SECONDS, Value::Float(d.as_secs_f64()));
            }
        }
        s.set_user(Some(user_id));
        s.cycle_id();
        *self.cached_user() = Some(Some(user_id.to_owned()));
    }

    /// `logout_user()`: removes `_user_id`, `_fresh` and `_id`; when the
    /// request has a remember cookie, asks for its deletion (`_remember =
    /// "clear"`) and removes `_remember_seconds`. Other keys stay, as in
    /// Flask-Login (a flash message set afterwards survives).
    pub fn logout_user(&self) {
        // Flask-Login loads the user first (`user = _get_user()`), so
        // session protection runs here too.
        let _ = self.user_id();
        let s = &self.session;
        let had_user = s.remove_value(USER_ID).is_some();
        s.remove_value(FRESH);
        s.remove_value(ID);
        if self.context.client.remember_cookie.is_some() {
            s.insert_value(REMEMBER, Value::from("clear"));
            s.remove_value(REMEMBER_SECONDS);
        }
        if had_user {
            s.set_user(None); // store mode: the record no longer belongs to the user
        }
        *self.cached_user() = Some(None);
    }

    /// `confirm_login()`: marks the login fresh again (after the user
    /// re-entered a password) and records this client's identifier.
    pub fn confirm_login(&self) {
        self.session.insert_value(FRESH, Value::Bool(true));
        self.session
            .insert_value(ID, Value::from(self.context.client.identifier()));
    }

    /// `_load_user`, without the app's user loader.
    fn load_user(&self) -> Option<String> {
        if self.session_protection_failed() {
            return None;
        }
        if let Some(id) = self
            .session
            .get_value(USER_ID)
            .as_ref()
            .and_then(user_id_text)
        {
            return Some(id);
        }
        let (id, generation) = self.remember_cookie_user()?;
        self.session.insert_value(USER_ID, Value::from(id.as_str()));
        self.session.insert_value(FRESH, Value::Bool(false));
        // A restored login is a login: the session records its user (and
        // the generation the cookie was checked against), so "log out
        // everywhere" and logout reach it, and it gets a new id.
        self.session.log_in_at(&id, generation);
        self.session.cycle_id();
        Some(id)
    }

    /// The remember cookie's user, if it verifies, `_remember` isn't
    /// "clear" and (with revocation) its generation is current; and the
    /// generation it was checked against.
    fn remember_cookie_user(&self) -> Option<(String, Option<u64>)> {
        let cookie = self.context.client.remember_cookie.as_deref()?;
        if matches!(self.session.get_value(REMEMBER), Some(Value::Str(op)) if op == "clear") {
            return None;
        }
        if self.session.revocation().is_none() {
            // Flask-Login's token only: without revocation websession never
            // issues one with a generation.
            let user = self.settings().signer.verify(cookie).ok()?;
            return Some((user.to_owned(), None));
        }
        match &*self.context.remembered() {
            Some(remembered) => remembered.clone(),
            None => {
                tracing::warn!(
                    target: "websession::security",
                    "the remember cookie was not checked against revocation (call Login::check_remember_cookie); not restoring the login"
                );
                None
            }
        }
    }

    /// The generation the remember cookie was checked against, if it was
    /// and it is `user`'s.
    pub(crate) fn checked_generation(&self, user: &str) -> Option<u64> {
        match &*self.context.remembered() {
            Some(Some((u, generation))) if u == user => *generation,
            _ => None,
        }
    }

    /// Whether the remember cookie may be read and written (the session
    /// travels in a cookie).
    pub(crate) fn remember_enabled(&self) -> bool {
        self.context.remember_enabled
    }

    /// `_session_protection_failed`: `true` when "strong" protection just
    /// logged the user out.
    fn session_protection_failed(&self) -> bool {
        let mode = self.settings().protection;
        if mode == SessionProtection::Off {
            return false;
        }
        let s = &self.session;
        // An empty session is an anonymous user or a fresh logout: skip.
        if s.is_empty() {
            return false;
        }
        let ident = self.context.client.identifier();
        if matches!(s.get_value(ID), Some(Value::Str(stored)) if stored == ident) {
            return false;
        }
        if mode == SessionProtection::Basic || s.is_permanent() {
            if s.get_value(FRESH) != Some(Value::Bool(false)) {
                s.insert_value(FRESH, Value::Bool(false));
            }
            return false;
        }
        let had_user = s.contains(USER_ID);
        for key in SESSION_KEYS {
            s.remove_value(key);
        }
        s.insert_value(REMEMBER, Value::from("clear"));
        if had_user {
            s.set_user(None);
        }
        true
    }
}
