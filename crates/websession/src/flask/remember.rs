//! Flask-Login's per-request steps on a [`FlaskLogin`]: the request's
//! [`Login`], and the after-request step that writes or deletes the
//! remember cookie (`_update_remember_cookie`). Apart from
//! `login_manager.rs` (the configuration), so that `login.rs` and the
//! configuration don't import each other.

use websession_core::cookie::quote_cookie_value;
use websession_core::Value;

use super::login::{ClientInfo, Login, LoginContext, REMEMBER, REMEMBER_SECONDS, USER_ID};
use super::login_manager::{user_id_text, FlaskLogin};
use crate::session::Session;

impl FlaskLogin {
    /// One request's login, for frameworks without an adapter here: the
    /// request's loaded session and what the request says about its client.
    /// Call [`FlaskLogin::finish`] with the same [`Login`] before the
    /// session is saved.
    ///
    /// With a [`Revocation`](crate::Revocation) configured, await
    /// [`Login::check_remember_cookie`] before reading the user, or a
    /// remember cookie won't restore a login. With a header
    /// [`Transport`](crate::Transport), the remember cookie is neither read
    /// nor written.
    #[must_use]
    pub fn request(&self, session: Session, client: ClientInfo) -> Login {
        let cookie_transport = session.cookie_transport();
        Login::from_parts(
            LoginContext::new(self.clone(), client, cookie_transport),
            session,
        )
    }

    /// Flask-Login's after-request step (`_update_remember_cookie`): the
    /// remember cookie's `Set-Cookie` value, if the request set or cleared
    /// it (or, with refresh each request, for any logged-in user). Nothing
    /// for a 5xx response, whose session is not saved either.
    ///
    /// With a [`Revocation`](crate::Revocation) configured, a remember
    /// cookie is bound to its user's generation, which this synchronous
    /// step can't ask the store for: it issues one only for the user whose
    /// remember cookie [`Login::check_remember_cookie`] just checked, and
    /// otherwise none (the middleware, [`FlaskLogin::layer`] or
    /// `FlaskLogin::middleware`, always can).
    #[must_use]
    pub fn finish(&self, login: &Login, status: u16) -> Option<String> {
        let session = login.session();
        let generation = session
            .get_value(USER_ID)
            .as_ref()
            .and_then(user_id_text)
            .and_then(|user| login.checked_generation(&user));
        self.update_remember_cookie(session, status, login.remember_enabled(), generation)
    }

    /// The remember cookie's `Set-Cookie`, if any. `enabled`: the session
    /// travels in a cookie. `generation`: with revocation, the generation
    /// the cookie is bound to (without it, none is issued).
    pub(crate) fn update_remember_cookie(
        &self,
        session: &Session,
        status: u16,
        enabled: bool,
        generation: Option<u64>,
    ) -> Option<String> {
        if status >= 500 {
            return None;
        }
        let s = &self.inner;
        let operation = if session.contains(REMEMBER) {
            session.remove_value(REMEMBER)
        } else if s.refresh_each_request {
            // Flask-Login sets "_remember" and pops it again: the session is
            // modified, and re-saved, as in Flask.
            session.insert_value(REMEMBER, Value::from("set"));
            session.remove_value(REMEMBER)
        } else {
            None
        };
        if !enabled {
            if matches!(&operation, Some(Value::Str(op)) if op == "set") {
                tracing::warn!("remember me is ignored: the session travels in a header, and a remember cookie would log in without it");
            }
            return None;
        }
        match operation {
            Some(Value::Str(op)) if op == "set" => {
                let user_id = user_id_text(&session.get_value(USER_ID)?)?;
                let generation = match (session.revocation(), generation) {
                    (None, _) => 0,
                    (Some(_), Some(generation)) => generation,
                    (Some(_), None) => {
                        tracing::warn!("no remember cookie is issued: its user's revocation generation is not known");
                        return None;
                    }
                };
                let duration = match session.get_value(REMEMBER_SECONDS) {
                    Some(Value::Float(secs)) if secs.is_finite() && secs >= 0.0 => secs as u64,
                    Some(Value::Int(secs)) => u64::try_from(secs).unwrap_or(0),
                    _ => s.duration_secs,
                };
                let token = s.signer.sign_at(&user_id, generation);
                let expires = session.opened_at().saturating_add(duration);
                Some(s.cookie.header(&quote_cookie_value(&token), Some(expires)))
            }
            Some(Value::Str(op)) if op == "clear" => Some(s.removal.clone()),
            _ => None,
        }
    }
}
