//! Flask-WTF's CSRF protection on a [`Session`]: [`FlaskCsrf`].

use std::fmt;

use std::time::Duration;
use websession_core::flask_wtf::{
    check_referrer, CsrfError, CsrfSigner, DEFAULT_FIELD_NAME, DEFAULT_HEADERS, DEFAULT_METHODS,
};
use websession_core::{Key, Value};

use crate::session::Session;

/// Flask-WTF's CSRF tokens: generate one a Flask form accepts, and check
/// one a Flask form rendered, with Flask-WTF's reasons.
///
/// Built once, cheap to clone (keep it in your app state). The raw token
/// lives in the session under the field name (`csrf_token`); forms carry
/// the signed token.
///
/// | Flask config key | here | default |
/// |---|---|---|
/// | `WTF_CSRF_SECRET_KEY` (else `SECRET_KEY`) | [`FlaskCsrf::new`] | |
/// | `WTF_CSRF_FIELD_NAME` | [`with_field_name`](Self::with_field_name) | `csrf_token` |
/// | `WTF_CSRF_TIME_LIMIT` | [`with_time_limit`](Self::with_time_limit) | 3600 s |
/// | `WTF_CSRF_HEADERS` | [`with_headers`](Self::with_headers) | `X-CSRFToken`, `X-CSRF-Token` |
/// | `WTF_CSRF_METHODS` | [`with_methods`](Self::with_methods) | `POST`, `PUT`, `PATCH`, `DELETE` |
/// | `WTF_CSRF_SSL_STRICT = False` | [`with_lax_https_referrer`](Self::with_lax_https_referrer) | strict |
///
/// # Examples
///
/// ```
/// use websession::flask::{CsrfRequest, FlaskCsrf};
/// use websession::{Key, Session};
///
/// fn form(csrf: &FlaskCsrf, session: &Session) -> String {
///     let token = csrf.generate(session);
///     format!(r#"<form method="post"><input type="hidden" name="csrf_token" value="{token}">…</form>"#)
/// }
///
/// fn submit(csrf: &FlaskCsrf, session: &Session, posted: Option<&str>) -> Result<(), String> {
///     csrf.protect(session, &CsrfRequest::new("POST").with_token(posted))
///         .map_err(|e| e.to_string()) // "The CSRF token is missing.", ...
/// }
/// # let _ = FlaskCsrf::new(&Key::generate());
/// ```
#[derive(Clone)]
pub struct FlaskCsrf {
    signer: CsrfSigner,
    field_name: String,
    headers: Vec<String>,
    methods: Vec<String>,
    ssl_strict: bool,
}

impl fmt::Debug for FlaskCsrf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlaskCsrf")
            .field("field_name", &self.field_name)
            .field("time_limit", &self.signer.time_limit())
            .field("headers", &self.headers)
            .field("methods", &self.methods)
            .field("ssl_strict", &self.ssl_strict)
            .finish_non_exhaustive()
    }
}

/// What [`FlaskCsrf::protect`] needs to know about a request.
///
/// ```
/// use websession::flask::CsrfRequest;
/// let req = CsrfRequest::new("POST")
///     .with_token(Some("the form's csrf_token"))
///     .with_https("example.com", Some("https://example.com/form"));
/// # let _ = req;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CsrfRequest<'a> {
    method: &'a str,
    token: Option<&'a str>,
    https: Option<(&'a str, Option<&'a str>)>,
}

impl<'a> CsrfRequest<'a> {
    /// A request with this method (`"POST"`, ...), no token, over HTTP.
    #[must_use]
    pub fn new(method: &'a str) -> Self {
        Self {
            method,
            token: None,
            https: None,
        }
    }

    /// The token the request carried: the form field, else a header (see
    /// [`FlaskCsrf::header_token`]). Flask-WTF also accepts a form field
    /// whose name ends with the field name (prefixed forms): look it up the
    /// same way if you use prefixes.
    #[must_use]
    pub fn with_token(mut self, token: Option<&'a str>) -> Self {
        self.token = token;
        self
    }

    /// The request came over HTTPS, to `host` (the `Host` header), with
    /// this `Referer`: Flask-WTF's strict referrer check applies.
    #[must_use]
    pub fn with_https(mut self, host: &'a str, referrer: Option<&'a str>) -> Self {
        self.https = Some((host, referrer));
        self
    }
}

impl FlaskCsrf {
    /// CSRF tokens signed with this key (`WTF_CSRF_SECRET_KEY`, or Flask's
    /// `SECRET_KEY`; Flask-WTF uses no fallbacks) and Flask-WTF's defaults.
    #[must_use]
    pub fn new(secret_key: &Key) -> Self {
        Self {
            signer: CsrfSigner::new(secret_key),
            field_name: DEFAULT_FIELD_NAME.to_owned(),
            headers: DEFAULT_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
            methods: DEFAULT_METHODS.iter().map(|m| (*m).to_owned()).collect(),
            ssl_strict: true,
        }
    }

    /// `WTF_CSRF_FIELD_NAME`: the form field and the session key.
    #[must_use]
    pub fn with_field_name(mut self, name: impl Into<String>) -> Self {
        self.field_name = name.into();
        self
    }

    /// `WTF_CSRF_TIME_LIMIT`; `None` for tokens that never expire (they
    /// still end with the session's raw token).
    #[must_use]
    pub fn with_time_limit(mut self, limit: Option<Duration>) -> Self {
        let secs = limit.map(|d| d.as_secs());
        self.signer = self.signer.with_time_limit(secs);
        self
    }

    /// `WTF_CSRF_HEADERS`: the headers [`header_token`](Self::header_token)
    /// tries, in order.
    #[must_use]
    pub fn with_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// `WTF_CSRF_METHODS`: the methods [`protect`](Self::protect) checks.
    #[must_use]
    pub fn with_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.methods = methods.into_iter().map(Into::into).collect();
        self
    }

    /// `WTF_CSRF_SSL_STRICT = False`: HTTPS requests need no matching
    /// `Referer`. Weaker: only for apps whose clients strip the header.
    #[must_use]
    pub fn with_lax_https_referrer(mut self) -> Self {
        self.ssl_strict = false;
        self
    }

    /// The form field (and session key) name.
    #[must_use]
    pub fn field_name(&self) -> &str {
        &self.field_name
    }

    /// Flask-WTF's `generate_csrf()`: the signed token for this session,
    /// making the session's raw token first if it has none. Within one
    /// second every call gives the same token.
    #[must_use]
    pub fn generate(&self, session: &Session) -> String {
        let raw = match session.get_value(&self.field_name) {
            Some(Value::Str(raw)) => raw,
            // Absent (or not text, which Flask-WTF can't sign either): a new one.
            _ => {
                let raw = CsrfSigner::new_raw_token();
                session.insert_value(&self.field_name, Value::from(raw.as_str()));
                raw
            }
        };
        self.signer.sign(&raw, session.opened_at())
    }

    /// Flask-WTF's `validate_csrf(token)` against this session.
    ///
    /// # Errors
    ///
    /// The [`CsrfError`] Flask-WTF raises, with its reason as `Display`.
    pub fn validate(&self, session: &Session, token: Option<&str>) -> Result<(), CsrfError> {
        let stored = session.get_value(&self.field_name);
        let stored = stored.as_ref().map(|v| match v {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        });
        self.signer
            .validate_value(token, stored, session.opened_at())
    }

    /// `CSRFProtect.protect()`: nothing to check for other methods than
    /// `WTF_CSRF_METHODS`; else [`validate`](Self::validate), then for HTTPS
    /// requests the strict referrer rule.
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate), and [`CsrfError::ReferrerMissing`]
    /// or [`CsrfError::ReferrerMismatch`].
    pub fn protect(&self, session: &Session, request: &CsrfRequest<'_>) -> Result<(), CsrfError> {
        if !self.methods.iter().any(|m| m == request.method) {
            return Ok(());
        }
        self.validate(session, request.token)?;
        if let Some((host, referrer)) = request.https {
            if self.ssl_strict {
                check_referrer(referrer, host)?;
            }
        }
        Ok(())
    }

    /// The token from the first of `WTF_CSRF_HEADERS` that has a non-empty
    /// value; `header` looks a header up by name.
    ///
    /// ```
    /// use websession::flask::FlaskCsrf;
    /// use websession::Key;
    /// let csrf = FlaskCsrf::new(&Key::generate());
    /// let headers = [("X-CSRF-Token", "t")];
    /// let found = csrf.header_token(|name| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v));
    /// assert_eq!(found, Some("t"));
    /// ```
    pub fn header_token<'h>(&self, header: impl Fn(&str) -> Option<&'h str>) -> Option<&'h str> {
        self.headers
            .iter()
            .find_map(|name| header(name).filter(|v| !v.is_empty()))
    }
}

/// A refused CSRF check as a response: `400 Bad Request` with Flask-WTF's
/// reason as the body, as a Flask app answers a `CSRFError` (axum:
/// `IntoResponse`; actix-web: `ResponseError`).
///
/// ```
/// use websession::flask::{CsrfRejected, CsrfRequest, FlaskCsrf};
/// use websession::Session;
///
/// fn submit(csrf: &FlaskCsrf, session: &Session, token: Option<&str>) -> Result<&'static str, CsrfRejected> {
///     csrf.protect(session, &CsrfRequest::new("POST").with_token(token))?;
///     Ok("saved")
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CsrfRejected(pub CsrfError);

impl From<CsrfError> for CsrfRejected {
    fn from(e: CsrfError) -> Self {
        Self(e)
    }
}
