//! Long-form guides. Nothing here is code; each module is a page.

/// # Signed is not secret
///
/// Flask's session cookie, and websession's signed mode, are **signed, not
/// encrypted**. The payload is base64 of (maybe compressed) JSON: anyone who
/// has the cookie can read it, e.g. with `websession decode COOKIE`. The
/// signature only proves that the server wrote it, so the client can't change
/// it.
///
/// Put in a signed session what the user may see: a user id, a cart, a pet's
/// name. Never a password, an API token, or another user's data.
///
/// A signed cookie also can't be revoked: until it expires, a copied cookie
/// works. The server checks its age against the permanent lifetime (Flask's
/// `PERMANENT_SESSION_LIFETIME`, 31 days by default) for every cookie,
/// permanent or not, and refuses cookies signed in the future.
///
/// # Keys
///
/// Whoever knows the key can forge any session. Use 32 random bytes
/// (`Key::generate`, or `websession keygen`), keep them out of the code, and
/// rotate: make the new key current and keep the old one as a fallback
/// ([`crate::KeyRing::with_fallback`]) until the longest lifetime has passed.
/// Cookies signed with a fallback keep working and are re-signed with the
/// current key the next time they are written. Short keys and published
/// example keys are reported at start-up (refused with
/// [`crate::SessionConfig::with_strict_keys`]).
///
/// # Failures
///
/// A cookie that fails for any reason (tampered, truncated, wrong key,
/// expired, from the future, malformed, a decompression bomb) gives an empty
/// session, the same way every time, and a `tracing` event with the reason but
/// never the cookie. Decompression only happens after the signature checked
/// out, and is capped. The cookie comparison is constant-time.
///
/// A stored record that can't be decoded is treated the same way: an empty
/// session, the record deleted, and a `websession::security` event. Only a
/// store that can't be reached answers 503.
///
/// # Logging out
///
/// Call [`crate::Session::purge`]. Whatever the handler inserts afterwards
/// (a flash message, say) starts a **new** session: a new creation time, no
/// user, and in store mode a new id, while the old record is deleted, so a
/// copied cookie is worthless from then on. In the cookie modes the old
/// cookie can't be revoked (see above); it stays valid until it expires.
///
/// # Sealed cookies and compression
///
/// Sealed cookies are not compressed by default. Compression makes a
/// cookie's length depend on its content, so an attacker who can put chosen
/// text into a session beside a secret and watch the cookie's length can
/// recover the secret a few bytes at a time (the CRIME/BREACH attacks).
/// [`crate::SessionConfig::with_sealed_compression`] turns it on for sessions
/// that never mix the two; cookies written either way always open.
///
/// # Timeouts in store mode
///
/// A store record's expiry is written only when it must move, not on every
/// request. With an idle timeout, a session used at least once per idle
/// timeout never expires; an unused one ends between the idle timeout and
/// the idle timeout plus the touch interval
/// ([`crate::StoreSessions::with_touch_interval`], default a tenth of the
/// idle timeout, at least a second) after its last use. Records written
/// under a looser policy (before the idle timeout was turned on, or with a
/// longer lifetime) are shortened to the current one at their next use. The absolute timeout is exact. A
/// creation time up to 60 seconds ahead of this server's clock (written by a
/// server whose clock runs ahead) counts as "now".
pub mod security {}

/// # Sharing sessions with Flask
///
/// With the same secret key, a Flask app and a websession app read and write
/// the same `session` cookie. Use [`crate::SessionConfig::flask`] for Flask's
/// cookie attributes (or set the same ones on both sides) and the same
/// permanent lifetime.
///
/// ```no_run
/// use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
///
/// // Flask: app.secret_key = "..." ; app.config["SECRET_KEY_FALLBACKS"] = ["old"]
/// let keys = KeyRing::new(Key::from_utf8(&std::env::var("SECRET_KEY")?)?)
///     .with_fallback(Key::from_utf8("old")?);
/// let layer = SessionManagerLayer::new(Sessions::signed(keys, SessionConfig::flask())?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ## What maps to what
///
/// | Python | [`crate::Value`] | typed access (`get::<T>`) |
/// |---|---|---|
/// | `str` | `Str` | `String` |
/// | `int` | `Int` (fits `i64`) or `BigInt` (kept as text) | integers up to `u64` |
/// | `float` (incl. `nan`, `inf`) | `Float` | `f64` (not NaN/inf) |
/// | `bool`, `None` | `Bool`, `Null` | `bool`, `Option` |
/// | `list`, `dict` | `List`, `Dict` | `Vec`, maps, structs |
/// | `tuple` | `Tuple` | tuples, `Vec` |
/// | `bytes` | `Bytes` | `Vec<u8>` |
/// | `Markup` | `Markup` | `String` |
/// | `uuid.UUID` | `Uuid` | `uuid::Uuid` (hyphenated string) |
/// | aware `datetime` | `DateTime` (UTC, whole seconds) | RFC 3339 string |
/// | a `datetime` tag Flask would not write back as is (a year below 100, another date form, text it can't read) | `RawDateTime` (the text kept, plus what Flask reads: [`crate::Value::as_datetime`]) | what Flask reads, or `None` |
///
/// Flask writes years 1 to 9999 with four digits but reads years below 100
/// as 1969 to 2068 (Python's `email.utils` rule): a cookie holding
/// `datetime(50, 1, 1)` reads as 2050 on both sides, and its bytes are kept
/// when Rust changes another key.
///
/// Values a Rust handler does not touch are written back exactly as they
/// came, so Flask reads back equal Python values.
///
/// ## Values Rust can't hold exactly
///
/// Python can put three things in a session that have no exact Rust type.
/// websession keeps each in the [`crate::Value`] model so it survives:
///
/// | Python | kept as | typed access (`get::<T>`) |
/// |---|---|---|
/// | `int` beyond `i64` (e.g. `2**80`) | [`crate::Value::BigInt`], its decimal text | `u64` up to `u64::MAX`, else [`crate::ValueError::NotRepresentable`] |
/// | `float('nan')`, `float('inf')` | [`crate::Value::Float`] (`NaN`/`Infinity` in the JSON, as Python writes them) | `NotRepresentable` (JSON has no NaN) |
/// | a `str` with a lone surrogate (`"\ud800"`) | [`crate::Value::Utf16`], the UTF-16 code units | `NotRepresentable` (a Rust `String` can't hold it) |
///
/// A handler that doesn't read such a value, or reads it with
/// [`crate::Session::get_value`], leaves it intact: the next cookie carries
/// the same bytes, and Flask reads back an equal value. A handler that asks
/// for it as a Rust type gets a typed error, never a silent approximation.
/// The live suite in `interop/` checks all three against real Flask.
///
/// `session.permanent` is the `_permanent` key, as in Flask;
/// [`crate::Session::set_permanent`] writes it.
///
/// ## Proof against the real thing
///
/// `interop/` runs a Flask app (Flask 3.1.3, pinned) and an axum app as two
/// HTTP servers and passes cookies between them for every value kind:
/// Flask writes and Rust reads, Rust changes another key and Flask reads
/// both, Rust writes and Flask reads, and at the same frozen second both
/// write the same bytes. Also permanent sessions, key rotation both ways,
/// expiry at the same frozen time, and tampering. `examples/flask_bridge/`
/// is a runnable pair: log in with Flask, read the login in Rust.
///
/// ## Caveats
///
/// - Flask itself loses microseconds and the UTC offset of datetimes, and
///   turns `date` and `Decimal` into strings; so does the round trip here.
/// - websession decodes strictly where Python is lenient: a signature with
///   padding, unused bits set or the standard base64 alphabet, and a payload
///   that is a JSON list of pairs, are refused. Flask never writes these.
/// - A payload whose signature is valid but whose data is broken makes Flask
///   answer 500; websession starts an empty session.
/// - Flask re-sends a permanent session on every request, even one that never
///   touched the session. websession decodes the cookie only when a handler
///   uses the session, and refreshes it only then: on every such request
///   with [`crate::SessionConfig::flask`] ([`crate::Refresh::EveryRequest`]),
///   and by default once the cookie is a minute old
///   ([`crate::Refresh::Interval`]), so most requests carry no `Set-Cookie`.
///   Flask reads either cookie the same way.
/// - Flask only warns about cookies over 4093 bytes, and browsers drop them;
///   websession refuses to send them (a 500 and an error log).
///
/// ## A Flask app with Flask-Session
///
/// When the Flask app keeps its sessions server-side with Flask-Session
/// 0.8 (Redis, or SQLAlchemy on PostgreSQL or SQLite), the cookie holds only
/// an id and both sides must read the same records. The crate
/// `websession-python` has that store: `FlaskSessionStore` under
/// [`crate::Sessions::store`] with [`crate::SessionConfig::flask`]. Its
/// `flask_session` module is the page on what is shared (the record, the
/// id cookie, signed or not, the expiry) and what differs (raw ids at rest,
/// whole-record writes with a compare-and-set, no pickles);
/// `examples/flask_session_bridge/` is a runnable pair.
pub mod flask {}

/// # The wire format of the signed cookie
///
/// ```text
/// cookie        = [ "." ] PAYLOAD "." TIMESTAMP "." SIGNATURE
/// PAYLOAD       = b64u(json) | b64u(zlib(json))      (zlib only when it saves ≥ 2 bytes; then the leading ".")
/// TIMESTAMP     = b64u(big-endian Unix seconds, leading zero bytes stripped)
/// SIGNATURE     = b64u(HMAC-SHA1(derived_key, everything before the last "."))
/// derived_key   = HMAC-SHA1(SECRET_KEY, "cookie-session")
/// ```
///
/// `b64u` is URL-safe base64 without padding. The JSON is Flask's tagged JSON:
/// compact, keys sorted by code point at every depth, ASCII only (`\uXXXX`,
/// lowercase, surrogate pairs above U+FFFF), floats as Python's `repr`, and
/// the tags `" t"` (tuple), `" b"` (bytes, standard base64), `" m"` (Markup),
/// `" u"` (UUID hex), `" d"` (HTTP date), `" di"` (a one-key dict whose key
/// looks like a tag).
///
/// The `Set-Cookie` attributes come in Werkzeug's order: `Domain`, `Expires`
/// (permanent sessions only), `Max-Age` (only `0`, on deletion), `Secure`,
/// `HttpOnly`, `Path`, `SameSite`, `Partitioned`.
pub mod wire_format {}

/// # Metrics and traces
///
/// With the `metrics` feature, websession reports through the
/// [`metrics`](https://docs.rs/metrics) facade: install any recorder (for
/// example `metrics-exporter-prometheus`) at start-up and these appear. No
/// label carries session data, a user or an id.
///
/// | name | kind | labels | what |
/// |---|---|---|---|
/// | `websession_cookies_rejected_total` | counter | `reason`: itsdangerous' name (`BadSignature`, `SignatureExpired`, `BadTimeSignature`, `BadPayload`, ...), or `BadSessionId` / `UnknownSessionId` in store mode, or `Revoked` (see [`revocation`]) | a request's cookie that didn't open; the request goes on with an empty session |
/// | `websession_sessions_total` | counter | `event`: `created`, `rotated`, `purged`, `revoked` (a cookie session's id denied), `revoked_all` (a user's generation bumped; `mode` `cookie`); `mode`: `signed`, `sealed`, `store` | a session first written, moved to a new id or cookie ([`Session::cycle_id`](crate::Session::cycle_id)), or destroyed ([`Session::purge`](crate::Session::purge)) |
/// | `websession_store_operation_seconds` | histogram | `op`: `load`, `create`, `update`, `cycle_id`, `delete`; with revocation `revocation_check`, `revocation_deny`, `revocation_generation` | each store call's latency, successful or not |
/// | `websession_store_errors_total` | counter | `op`, `kind`: `unavailable`, `corrupt`, `collision`, `not_found`, `unsupported`, `backend` | failed store calls (`not_found` on update is the normal "deleted meanwhile") |
///
/// ```toml
/// websession = { version = "0.2", features = ["metrics"] }
/// ```
///
/// The demo serves them for Prometheus with `WEBSESSION_METRICS=1 cargo run
/// --example petname` (`metrics-exporter-prometheus`, on `/metrics`). After
/// one new session and one forged cookie, a scrape reads
/// (`examples/tests/metrics.rs` checks it):
///
/// ```text
/// # TYPE websession_cookies_rejected_total counter
/// websession_cookies_rejected_total{reason="BadSignature"} 1
///
/// # TYPE websession_sessions_total counter
/// websession_sessions_total{event="created",mode="signed"} 1
/// ```
///
/// Traces: store loads and saves run in the `websession.load` and
/// `websession.save` spans (level `debug`) with the fields `mode`, `op`
/// (save: `create`, `update`, `cycle_id`, `delete`), `outcome` (load:
/// `found`, `empty`, `failed_open`, `unavailable`; save: `ok`, `error`) and
/// `elapsed_us`; no id, no data. Each store call logs its
/// operation and duration at `trace`, and rejected cookies are logged under
/// the `websession::security` target with the reason, never the cookie.
pub mod metrics {}

/// # Sharing a Flask-Login session
///
/// Needs the `flask` feature (off by default):
/// `websession = { version = "0.2", features = ["flask"] }`.
///
/// Real Flask apps log users in with Flask-Login, talk to them with
/// `flash()` and protect forms with Flask-WTF. A Rust service beside such an
/// app shares all three through [`crate::flask`], byte for byte with Flask
/// 3.1, Flask-Login 0.6.3 and Flask-WTF 1.3.0 (pinned in
/// `interop/requirements.txt`).
///
/// ## Set-up
///
/// One `SECRET_KEY` for everything, Flask's cookie settings, Flask-Login's
/// middleware **inside** the session middleware (it runs after the handler,
/// before the session is saved), and the client's address for Flask-Login's
/// identifier:
///
/// ```no_run
/// use axum::Router;
/// use websession::flask::{FlaskCsrf, FlaskLogin, FlaskLoginConfig, SessionProtection};
/// use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
///
/// # async fn run(routes: Router<FlaskCsrf>) -> Result<(), Box<dyn std::error::Error>> {
/// let secret = Key::from_utf8(&std::env::var("SECRET_KEY")?)?; // Flask's app.secret_key
/// let sessions = Sessions::signed(KeyRing::new(secret.clone()), SessionConfig::flask())?;
/// let login = FlaskLogin::new(
///     &secret,
///     FlaskLoginConfig::default().with_session_protection(SessionProtection::Strong),
/// )?;
/// let app = routes
///     .with_state(FlaskCsrf::new(&secret))
///     .layer(login.layer())
///     .layer(SessionManagerLayer::new(sessions));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5002").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
/// # Ok(()) }
/// ```
///
/// On actix-web: `.wrap(login.middleware())` then
/// `.wrap(SessionMiddleware::new(sessions))` (the last `wrap` runs first).
///
/// ## What each side keeps in the session
///
/// | key | written by | meaning |
/// |---|---|---|
/// | `_user_id` | `login_user` / [`crate::flask::Login::login_user`] | the user's id (`get_id()`) |
/// | `_fresh` | login (`True`), restore from the remember cookie and basic protection (`False`) | a fresh login |
/// | `_id` | login, `confirm_login` | the client identifier: SHA-512 of `repr(addr)|repr(user_agent)` |
/// | `_remember`, `_remember_seconds` | login with remember (`"set"`), logout and strong protection (`"clear"`) | read and removed after the request, which then writes or deletes `remember_token` |
/// | `_flashes` | `flash()` / [`crate::flask::FlashExt::flash`] | a list of `(category, message)` tuples |
/// | `csrf_token` | `generate_csrf()` / [`crate::flask::FlaskCsrf::generate`] | the raw CSRF token; forms carry it signed |
///
/// ## Handlers
///
/// ```
/// use websession::flask::{CsrfRejected, CsrfRequest, FlashExt, FlaskCsrf, Login, LoginOptions};
///
/// // POST /login, after checking the password yourself:
/// fn logged_in(login: &Login, csrf: &FlaskCsrf, token: Option<&str>, user_id: &str, remember: bool) -> Result<(), CsrfRejected> {
///     csrf.protect(login.session(), &CsrfRequest::new("POST").with_token(token))?;
///     login.login_user_with(user_id, LoginOptions::default().with_remember(remember));
///     login.session().flash("message", "Logged in successfully.");
///     Ok(())
/// }
///
/// // Any page: the user, fresh or restored, and the messages, shown once.
/// fn page(login: &Login) -> String {
///     let who = login.user_id().unwrap_or_else(|| "anonymous".into());
///     let fresh = login.is_fresh();
///     let messages = login.session().take_flashes();
///     format!("{who} (fresh: {fresh}), {} messages", messages.len())
/// }
/// ```
///
/// ## The rules, as Flask-Login has them
///
/// - **Loading the user** ([`crate::flask::Login::user_id`]) runs session
///   protection first, then reads `_user_id`, then (with no `_user_id`) the
///   `remember_token` cookie, unless the session asked to clear it. A valid
///   remember cookie logs the user in again with `_fresh = False`.
/// - **Session protection** compares `_id` with the client's identifier
///   (the first `X-Forwarded-For` item if that header is present, else the
///   peer address, and the `User-Agent`). On a mismatch in a non-empty
///   session, `"basic"` (and any permanent session) marks the login stale;
///   `"strong"` removes every Flask-Login key, logs the user out and
///   deletes the remember cookie. Flask-Login doesn't set `_id` when it
///   restores a login from the remember cookie, so under `"strong"` the
///   request after a restore logs the user out; websession does the same,
///   so both sides agree.
/// - **Login** sets `_user_id`, `_fresh`, `_id` (and `_remember`,
///   `_remember_seconds`); websession also rotates the session (a new id in
///   store mode) and records the user for
///   [`Logins::log_out_everywhere`](crate::Logins::log_out_everywhere) (as
///   [`crate::Session::log_in`] does). **A login restored
///   from the remember cookie is a login too**: it records the user (and,
///   with revocation, the generation the cookie was checked against) and
///   rotates the session, so logout and "log out everywhere" reach it as
///   they reach any other.
/// - **Logout** removes `_user_id`, `_fresh`, `_id`, and when the request
///   has a remember cookie, deletes it. Other keys stay (Flask-Login doesn't
///   clear the session), so a flash after logout survives.
/// - **The remember cookie** is `user_id|hex(HMAC-SHA512(SECRET_KEY,
///   user_id))`, with Werkzeug's quoting when the id needs it, `Expires` at
///   the duration (365 days, or `login_user`'s), no `Max-Age`; deleted with
///   only `Domain` and `Path`. It carries no time. Flask-Login signs it
///   with `SECRET_KEY` alone (no fallbacks), as the **Latin-1** bytes of a
///   text key: for a key with characters beyond ASCII use
///   [`crate::Key::from_latin1`] for [`crate::flask::FlaskLogin::new`].
///
/// ## Revoking remember cookies
///
/// **Without a [`Revocation`](crate::Revocation)** a remember cookie can't
/// be revoked, in any mode, as in Flask-Login: a copied one logs its user in
/// until the key changes, even after `logout_user` elsewhere or
/// `delete_all_for` (which ends the sessions, not the cookie). Flask-Login's
/// answer is the *alternative id*: log users in with an id you change on
/// password change (`login_user_with(&alternative_id, ..)`), so old
/// cookies name nobody.
///
/// **With a `Revocation` configured** (in the cookie modes, and in store
/// mode, where it serves the remember cookie only), the remember cookie is
/// bound to its user's generation:
/// [`Logins::log_out_everywhere(user)`](crate::Logins::log_out_everywhere)
/// ends every remember cookie websession issued before it, on every device
/// (another process sees it within its staleness, as for session cookies).
/// A cookie issued after a revocation is signed with a key derived from
/// `SECRET_KEY` for the purpose, so no Flask-Login token (whatever user id
/// it names) passes for one. `REMEMBER_COOKIE_REFRESH_EACH_REQUEST`
/// re-issues the cookie bound to the generation the session recorded at
/// its login, never a later one; a session that records no user (written
/// by Flask, or in store mode) gets no refreshed cookie. Beside a Flask
/// app sharing the key, Flask-Login itself checks no generation: it keeps
/// accepting the tokens it issued, and the Flask session it then writes
/// records no user for the Rust side to revoke. A user
/// never revoked (generation 0) gets exactly Flask-Login's cookie; after a
/// revocation the cookie is `user_id|g<generation>.<digest>` (see
/// `websession_core::flask_login`), which Flask-Login refuses as it refuses
/// any bad digest: a Flask app sharing the key treats it as no cookie. The
/// check is an async step the [`crate::flask::Login`] extractors run
/// ([`crate::flask::Login::check_remember_cookie`]); a forged cookie costs
/// no round trip. When the revocation store can't be reached, a remember
/// cookie doesn't restore the login (fail closed; nothing is deleted) and
/// none is issued, unless the revocation fails open. In store mode
/// [`Logins::log_out_everywhere`](crate::Logins::log_out_everywhere) then
/// deletes the user's records and moves their generation on, so the
/// remember cookies end too.
///
/// **With a header [`Transport`](crate::Transport)** (bearer tokens), the
/// remember cookie is neither read nor written (nor when the login layer
/// sits outside the session layer, a mistake it logs): a cookie the browser sends
/// by itself must not log an API client in (it would need a CSRF defence
/// that header tokens don't). `remember=true` is ignored, with a warning.
/// - **Flashes**: the first take in a request removes every message from
///   the session (even with a category filter); later takes in the same
///   request see the same messages.
/// - **CSRF**: the form token is itsdangerous' `URLSafeTimedSerializer` of
///   the raw token (salt `wtf-csrf-token`), valid for `WTF_CSRF_TIME_LIMIT`
///   (3600 s). The reasons are Flask-WTF's: "The CSRF token is missing.",
///   "The CSRF session token is missing.", "The CSRF token has expired.",
///   "The CSRF token is invalid.", "The CSRF tokens do not match.", and for
///   HTTPS with `WTF_CSRF_SSL_STRICT`, "The referrer header is missing." and
///   "The referrer does not match the host.".
///
/// The configuration names are mapped in [`crate::flask`].
///
/// ## Differences from Flask-Login
///
/// - No `user_loader`: [`crate::flask::Login::user_id`] gives the id; look
///   the user up yourself. Flask-Login tries the remember cookie when the
///   loader refuses a `_user_id`; here a `_user_id` is taken as it is.
/// - The remember cookie is written on responses below 500 only, as the
///   session is.
/// - Flask-Login and Flask-WTF answer 500 on a few malformed values (a
///   non-text token in the session, a referrer with a bad port); websession
///   refuses them with the nearest reason instead.
/// - Under tower without axum, the peer address is unknown (hashed as
///   `None`, as Flask would without `REMOTE_ADDR`); use axum's
///   `ConnectInfo`, or `X-Forwarded-For` behind a proxy.
///
/// ## Proof against the real thing
///
/// `testdata/flask_ext_vectors.json` (made by `interop/make_flask_ext_vectors.py`
/// with the pinned packages) holds itsdangerous signatures for every key
/// derivation and digest, Flask-Login identifiers and remember cookies,
/// Flask-WTF tokens and reasons, and whole request flows through a Flask
/// app; `cargo test` replays them. `interop/tests/live/flask_login.rs` runs
/// `examples/flask_login_bridge` (Flask) beside its Rust twin: logins,
/// flashes, CSRF tokens, remember cookies, strong protection and logouts
/// cross over, with the same bytes where the clocks are frozen.
pub mod flask_login {}

/// # "Remember me"
///
/// Three switches keep a user logged in past the browser's close. Pick one
/// per app:
///
/// | you want | use | how long |
/// |---|---|---|
/// | the whole session to outlive the browser, for every user who ticks the box | [`Session::set_permanent(true)`](crate::Session::set_permanent) | the config's permanent lifetime ([`Lifetime::with_permanent_lifetime`](crate::Lifetime::with_permanent_lifetime), 31 days by default), renewed on use |
/// | a longer (or shorter) life for this one session ("remember me for 90 days") | [`Session::set_lifetime(Some(d))`](crate::Session::set_lifetime), which also makes it permanent | `d`, cut to [`Lifetime::with_max_session_lifetime`](crate::Lifetime::with_max_session_lifetime) (by default the permanent lifetime, so only shorter ones apply unless the config raises it) |
/// | Flask-Login's own `remember=True`, because a Flask app shares the cookies | [`LoginOptions::with_remember`](crate::flask::LoginOptions::with_remember) with [`FlaskLogin`](crate::flask::FlaskLogin) | a separate `remember_token` cookie that logs the user in again after the session ended ([`FlaskLoginConfig::with_duration`](crate::flask::FlaskLoginConfig::with_duration), 365 days by default) |
///
/// Without Flask-Login in the picture, use the first two: they keep the
/// one session (its data, its revocation, its store record) alive, where
/// the remember cookie starts a new one.
///
/// **What caps them.** [`Session::lifetime`](crate::Session::lifetime)
/// returns the lifetime that applies, after the cap: ask for 90 days under a
/// 31-day maximum and it says 31 days. The cap is applied again whenever
/// the session is read, so lowering the maximum shortens sessions already
/// given more.
///
/// **What still ends them.** A lifetime is how long a session lives after
/// its last write; an idle timeout
/// ([`Lifetime::with_idle_timeout`](crate::Lifetime::with_idle_timeout)) and
/// an absolute timeout
/// ([`Lifetime::with_absolute_timeout`](crate::Lifetime::with_absolute_timeout))
/// still end a remembered session, whichever comes first. So does logging
/// out, and (with a [`Revocation`](crate::Revocation) or in store mode)
/// revoking the user's sessions; the remember cookie is bound to the
/// revocation too (see [`flask_login`]).
pub mod remember_me {}

/// # Revoking cookie sessions
///
/// A signed or sealed cookie lives in the browser: the server can't delete
/// it, and until it expires, whoever holds a copy holds the session. Flask,
/// tower-sessions, actix-session and axum_session leave it there. With a
/// [`Revocation`](crate::Revocation) in the config, websession refuses
/// revoked cookies while keeping the cookie modes' speed:
///
/// | you call | what stops working | how |
/// |---|---|---|
/// | [`Session::purge`](crate::Session::purge), [`Session::clear`](crate::Session::clear) (Flask's usual logout), a save that leaves the session empty, [`Session::cycle_id`](crate::Session::cycle_id), or a change of user ([`Session::log_in`](crate::Session::log_in), [`Session::log_out`](crate::Session::log_out); Flask-Login's `login_user`, `logout_user` and a login restored from the remember cookie) | every copy of this session's cookie taken before | the session's random id goes on a deny-list; a session that goes on (a flash message after `clear`, the new login) gets a new id |
/// | [`Logins::log_out_everywhere(user)`](crate::Logins::log_out_everywhere) (or `Logins::from(revocation)` where there is no `Sessions`: a script, an admin job) | every cookie `user` logged in with before the call, on every device, and Flask-Login remember cookies issued before it | the user's generation goes up; a cookie records the generation at login, a remember cookie carries it |
///
/// Because a login retires the id the session had before it, a copy of the
/// anonymous session (a planted cookie, say) neither learns the login nor
/// can log the new session out by purging its copy. A login as the user
/// the cookie already records retires the id but keeps the generation: no
/// call lifts a cookie to its user's current generation, since a cookie
/// accepted within another process's staleness after a revocation must
/// stay revoked. "Log out my other sessions" is
/// [`Logins::log_out_others(&session)`](crate::Logins::log_out_others):
/// it bumps the generation and keeps this session at the new one, only if
/// the store confirms the session was current (neither its user revoked
/// nor its id denied); a session that isn't does nothing. Two of them at
/// once (a double submit) keep neither: the user logs in again. What the engine can't see is not a logout: removing the
/// user's key and writing a flash (Flask's quickstart logout,
/// `session.pop("username")`) leaves the session, and its copies, alive;
/// log out with `purge`, `clear` or `log_out`. A cookie with no
/// session id (written by Flask, or before revocation was turned on) opens
/// as before and gets an id the next time it is written: until then its
/// copies can be revoked only by "log out everywhere" of a user it
/// records, or not at all.
///
/// A refused cookie opens as an empty session (as an expired one does),
/// logged under the `websession::security` target and counted as
/// `websession_cookies_rejected_total{reason="Revoked"}`.
///
/// ```
/// use websession::store::MemoryRevocations;
/// use websession::{Key, KeyRing, Logins, Revocation, Session, SessionConfig, Sessions};
///
/// # fn main() -> Result<(), websession::ConfigError> {
/// let revocation = Revocation::new(MemoryRevocations::new()); // or a store's: see below
/// let sessions = Sessions::sealed(KeyRing::new(Key::generate()), SessionConfig::default())?
///     .with_revocation(revocation);
/// let logins: Logins = sessions.logins()?; // for the handlers, in the app's state
/// # let _ = logins; Ok(()) }
///
/// fn login(session: &Session, user: &str) {
///     session.log_in(user); // records the user and their generation, rotates
/// }
///
/// async fn logout_everywhere(logins: &Logins, session: &Session) -> Result<(), websession::SessionError> {
///     if let Some(user) = session.user() {
///         logins.log_out_everywhere(&user).await?;
///     }
///     session.purge();
///     Ok(())
/// }
/// ```
///
/// ## Where revocations live
///
/// A [`RevocationStore`](crate::store::RevocationStore): per-user
/// generations and the deny-list of session-id hashes (never an id, never
/// session data). [`MemoryRevocations`](crate::store::MemoryRevocations)
/// serves one process; the SQLite, Redis and PostgreSQL stores each give
/// one on their own connections (`store.revocations()`), so every process
/// of an app shares them. The deny-list holds an id only until any copy of
/// its cookie would have expired anyway: the longest session lifetime
/// ([`Lifetime::with_max_session_lifetime`](crate::Lifetime::with_max_session_lifetime)),
/// plus the staleness below and 60 seconds of clock skew. Every 256th
/// denial a process makes also deletes the entries whose time has passed,
/// so the list stays about as small as the logouts of one lifetime.
///
/// ## How long a revoked cookie can still pass
///
/// Each process caches what the store said about a user's generation and
/// a session id for [`Revocation::with_staleness`](crate::Revocation::with_staleness)
/// (default 5 seconds, whole seconds). So:
///
/// - on the process that revoked (the logout's, or the one that called
///   `log_out_everywhere`): **never** for a request that starts after the
///   revocation returned; it updates its own cache at once, and a store
///   answer that was already in flight (it may predate the revocation)
///   decides only its own, concurrent request and is never cached, so no
///   eviction of the cache can bring the old answer back;
/// - on another process: for **less than the staleness** after the
///   revocation was written to the store (it may have asked the store just
///   before). `tests/it/revocation.rs` checks this bound on the injected
///   clock: one second short of it the copy opens, at it, never again;
/// - with a staleness of 0: never, and every request that carries a
///   revocable cookie asks the store.
///
/// What a copy accepted within the staleness can do is bounded to that
/// window: it can't move itself past its revocation. A save that gives a
/// session a new id without a login (`cycle_id` alone, a flash after
/// `clear` or a logout) asks the store, not the cache, whether the old id
/// was logged out, and ends the session if it was (one more store read on
/// those saves; a login, which the app authenticated, is exempt); no call
/// lifts a cookie to a newer generation except `revoke_others`, which asks
/// the store too. Two limits remain: while the store fails open nothing is
/// checked, and a logout written in the instant between that read and the
/// response is concurrent with the request and doesn't reach its new id.
/// The same read makes a double-submitted bare `cycle_id` end the session
/// (the twin's rotation denied the id it carried).
///
/// Within the staleness, a request pays no round trip: the cost of a
/// revocable cookie with a warm cache is a hash-map lookup or two (see
/// BENCHMARKS.md for the measured cold and warm costs). A login and a logout
/// always ask the store (the login's generation is read fresh, so a stale
/// cache can't write a cookie that the next request would refuse), except
/// a login restored from a remember cookie, which records the generation
/// that cookie was just checked against (from the cache while fresh).
///
/// ## When the store can't be reached
///
/// Fail closed, by default: a request whose cookie must be checked, and a
/// login or logout, answers 503, as an unreachable session store does. With
/// [`Revocation::with_fail_open(true)`](crate::Revocation::with_fail_open)
/// cookies open unchecked and logins and logouts are saved without the
/// store (logged as errors): during the outage revoked cookies work again
/// and a logout doesn't stop copies of the cookie; a login is saved without
/// its user (that session can't be revoked with `log_out_everywhere`, and isn't
/// logged out when the store is back). A session that nobody logged into
/// and that isn't being logged out needs no store to be written.
///
/// The deny-list entry of a logout is written before the cookie is saved:
/// if the save then fails (an overflow store down, a 503), the browser's
/// old cookie is already refused, and the user is logged out.
///
/// ## What the cookie carries
///
/// Three keys, hidden from handlers like the creation time: `_ws_sid` (the
/// session's random id, 43 characters), and after a login `_ws_user` (the
/// user id given to `log_in`) and `_ws_gen` (the generation). In a sealed
/// cookie they are encrypted with the rest; in a signed cookie the client
/// can read them, as it reads all the data.
///
/// ## Beside a Flask app
///
/// The signed cookie stays Flask's: Flask reads it, and sees the three keys
/// as ordinary session keys. **Flask itself doesn't check generations or
/// the deny-list**, so in a shared deployment a revoked cookie is refused
/// only by the Rust side; the Flask side keeps accepting it until it
/// expires. A cookie Flask writes (without an id) opens on the Rust side,
/// and gets an id the next time the Rust side writes it.
///
/// Store mode doesn't need any of this for its sessions: a server-side
/// session is revoked by deleting its record
/// ([`Session::purge`](crate::Session::purge),
/// [`SessionStore::delete_all_for`](crate::store::SessionStore::delete_all_for)).
/// A `Revocation` configured in store mode serves only Flask-Login's
/// remember cookie (see [`flask_login`]).
///
/// ## Where the store can lose revocations
///
/// A revocation is as durable as the store that keeps it. In SQLite and
/// PostgreSQL it is a committed row. In Redis, generations and denials are
/// keys without a TTL beside the sessions: a flush (`FLUSHDB`,
/// `FLUSHALL`), or an eviction policy that may evict keys without a TTL
/// (`allkeys-*`), takes them and silently undoes "log out everywhere";
/// `websession-redis` checks the policy when it connects (see its docs).
/// Give revocations a Redis that doesn't evict, and never flush it.
pub mod revocation {}

/// # Sessions bigger than a cookie: overflow
///
/// A cookie holds about 4 KB. Without overflow, a save past
/// [`SessionConfig::with_max_cookie_size`](crate::SessionConfig::with_max_cookie_size)
/// is a 500 ([`SessionError::CookieTooLarge`](crate::SessionError::CookieTooLarge)):
/// you either keep sessions small or move everything to a server store.
/// With an [`Overflow`](crate::Overflow), a signed or sealed session lives
/// in the cookie while it fits and in a store when it doesn't, and handlers
/// see no difference:
///
/// | the save | where the session goes |
/// |---|---|
/// | in the cookie, fits | stays in the cookie (no store call at all) |
/// | in the cookie, the `Set-Cookie` would pass the limit | a new store record under a new random id; the cookie carries only the id |
/// | in the store, changed, and its cookie would be at most [`return_below`](crate::Overflow::with_return_below) bytes (default: half the limit) | the record is deleted, **then** the cookie carries the data again |
/// | in the store, changing hands: [`Session::log_in`](crate::Session::log_in), [`Session::log_out`](crate::Session::log_out), [`Session::cycle_id`](crate::Session::cycle_id), [`Session::clear`](crate::Session::clear), or Flask-Login's `_user_id` written or removed | moves to a new id in one atomic step, with the request's changes; the old id opens nothing |
/// | in the store otherwise | stays: per-key change sets, expiry extended as store mode does |
///
/// The gap between the two thresholds is hysteresis: a session near the
/// limit doesn't move at every request.
///
/// ```
/// use websession::store::MemoryStore; // or SQLite, Redis, PostgreSQL
/// use websession::{Key, KeyRing, Overflow, SessionConfig, Sessions};
///
/// let overflow = Overflow::new(MemoryStore::new()).with_return_below(1024);
/// let sessions = Sessions::sealed(KeyRing::new(Key::generate()), SessionConfig::default())?
///     .with_overflow(overflow)?;
/// # let _ = sessions;
/// # Ok::<(), websession::ConfigError>(())
/// ```
///
/// ## What holds while the session is in the store
///
/// Everything store mode promises: the store sees only the id's SHA-256;
/// writes carry only the keys a request changed, so concurrent requests
/// don't lose each other's keys; a record deleted during a request (a
/// purge, `delete_all_for`) is never written back, **nor moved back into a
/// cookie** (the move back takes the record atomically, and sends the data
/// only if the record was still there); an unknown or expired id opens an
/// empty session.
///
/// **Fixation.** A cookie session can't be fixed: a planted cookie is a
/// frozen copy that never sees what the victim writes later. A store id is
/// a live pointer, so an id planted in a victim's browser (an attacker
/// grows a session past the limit and plants its id) would see a later
/// login written into it. The engine moves the record to a new id whenever
/// the session changes hands in a way it can see (the table's first
/// row). **A login that only inserts a key of its own must call
/// [`Session::cycle_id`](crate::Session::cycle_id)** (as every login
/// should: it is what `cycle_id` is for; Flask-Login's `login_user` does
/// it). Moving the record on every change would close this for every
/// login, but it trades away the store's guarantees: a response that never
/// arrives leaves the browser a dead id, and concurrent requests of one
/// browser would lose each other's changes or fork the session. An unreachable store answers **503** on the
/// load, on the move out and on the move back, and no `Set-Cookie` is sent,
/// so the browser keeps the cookie it had: nothing it holds is lost (the
/// failed request's own changes are not saved, and it says so with the
/// 503). [`Overflow::with_fail_open`](crate::Overflow::with_fail_open) makes the
/// load fail open, as [`StoreSessions::with_fail_open`](crate::StoreSessions::with_fail_open)
/// does in store mode, and [`Overflow::with_touch_interval`](crate::Overflow::with_touch_interval)
/// is store mode's touch interval for these records.
///
/// A moved session is never readable through both paths: moving back
/// deletes the record before the cookie with the data is sent, and the old
/// id opens nothing from then on. Moving out can't recall the copies of
/// the cookie already sent (no cookie can be recalled): they open as the
/// older session they hold, until they expire, unless a
/// [`Revocation`](crate::Revocation) is configured; then the moved
/// session's record keeps the cookie's id, user and generation, and is
/// checked as the cookie would be.
///
/// Requests that overlap the moment of a move behave as overlapping
/// cookie requests do: the browser keeps the cookie of the last response.
/// A request that loaded the session from the store before another moved it
/// (back to the cookie, or to a new id) finds the record gone when it
/// saves, and its changes are dropped (the rule for a session deleted
/// during a request).
///
/// ## Beside a Flask app
///
/// While the session is in a signed cookie, Flask reads it as always. Once
/// it has moved, the cookie holds a bare id, which Flask can't verify:
/// Flask sees an **empty session**, and if Flask then writes the session,
/// its cookie replaces the id (the stored record is left to expire). Keep
/// what Flask must read small, or don't overflow a session Flask shares.
///
/// Store mode has no cookie limit and ignores a configured `Overflow`.
pub mod overflow {}
/// # Sharing sessions with Starlette and FastAPI
///
/// Needs the `starlette` feature (off by default):
/// `websession = { version = "0.2", features = ["starlette"] }`.
///
/// A Rust app behind the same domain as a Starlette or FastAPI app reads
/// and writes the Python app's session when both use the same secret key:
///
/// ```no_run
/// use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
///
/// // app.add_middleware(SessionMiddleware, secret_key=os.environ["SECRET_KEY"])
/// let keys = KeyRing::new(Key::from_utf8(&std::env::var("SECRET_KEY")?)?);
/// let layer = SessionManagerLayer::new(Sessions::starlette(keys, SessionConfig::starlette())?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// `examples/fastapi_bridge` runs one beside a FastAPI app.
///
/// ## The format (Starlette 1.10, `starlette/middleware/sessions.py`)
///
/// ```text
/// cookie    = b64(json) "." b64u(timestamp) "." b64u(HMAC-SHA1(SHA1("itsdangerous.Signer" "signer" secret_key), everything before))
/// json      = json.dumps(session)          (", " and ": ", ASCII only, no tags)
/// ```
///
/// `b64` is standard base64 with padding, `b64u` URL-safe without. It is
/// itsdangerous' `TimestampSigner(str(secret_key))` with every default;
/// [`websession_core::starlette::StarletteCodec`] is that configuration of
/// the one itsdangerous implementation. There is no compression.
///
/// ## Behaviour, side by side
///
/// | | Starlette | websession ([`crate::SessionConfig::starlette`]) |
/// |---|---|---|
/// | cookie | `session`, `path=/`, `Max-Age=1209600`, `httponly`, `samesite=lax` | `session`, `Path=/`, `HttpOnly`, `SameSite=Lax`, and the same lifetime as `Expires` (Werkzeug's form, which every browser reads the same) |
/// | `max_age=None` (a browser-session cookie, no age check) | | [`with_lifetime(\|l\| l.with_expire_at_browser_close())`](crate::Lifetime::with_expire_at_browser_close): no `Expires`, but the server still checks the lifetime |
/// | `https_only=True` | `; secure` | [`with_cookie(\|c\| c.with_secure(true))`](crate::CookieAttributes::with_secure) |
/// | bad signature, expired, signed in the future | empty session | empty session |
/// | signed payload that is not a JSON object | 500 | empty session |
/// | unchanged session | no `Set-Cookie` | no `Set-Cookie` |
/// | changed session | cookie written | cookie written |
/// | emptied session | cookie deleted (`null`, 1970) | cookie deleted |
/// | key rotation | one key | the ring's current key signs; every key verifies |
///
/// ## Values
///
/// Plain JSON: strings, numbers (any size of integer; floats written as
/// Python's `repr`), booleans, `null`, lists, dicts. A Python tuple arrives
/// as a list. Bytes, UUIDs and datetimes have no JSON form: Starlette's
/// `json.dumps` raises, and websession's save fails with a logged 500 (store
/// them as strings). Keys are written in code-point order; Starlette writes
/// insertion order. Each side reads the other's either way, but a cookie's
/// bytes match Starlette's only for a dict built in sorted order.
///
/// No hidden bookkeeping key is added (the Python app would see it), so an
/// absolute timeout ([`Lifetime::with_absolute_timeout`](crate::Lifetime::with_absolute_timeout)) is
/// refused at build time, and the Flask keys written by
/// [`Session::set_permanent`](crate::Session::set_permanent) and
/// [`Session::set_lifetime`](crate::Session::set_lifetime) should not be
/// used. The idle timeout works (from the cookie's signing time).
///
/// ## Proof
///
/// `testdata/starlette_vectors.json` is made by the real Starlette
/// (`interop/make_starlette_django_vectors.py`) and checked byte for byte by
/// `crates/core/tests/it/starlette_django.rs`. `interop/tests/live/python_frameworks.rs`
/// serves `interop/starlette_app.py` with uvicorn beside a Rust app with the
/// same key and crosses every JSON kind, expiry at a frozen time, key
/// rotation and tampering over real HTTP.
pub mod starlette {}

/// # Sharing sessions with Django
///
/// Needs the `django` feature (off by default):
/// `websession = { version = "0.2", features = ["django"] }`.
///
/// With `SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"`
/// Django keeps the whole session in the `sessionid` cookie, signed with
/// `SECRET_KEY`. A Rust app with the same keys reads and writes it:
///
/// ```no_run
/// use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
///
/// // settings.SECRET_KEY and settings.SECRET_KEY_FALLBACKS (oldest first there)
/// let keys = KeyRing::new(Key::from_utf8(&std::env::var("DJANGO_SECRET_KEY")?)?)
///     .with_fallback(Key::from_utf8(&std::env::var("DJANGO_OLD_SECRET_KEY")?)?);
/// let layer = SessionManagerLayer::new(Sessions::django(keys, SessionConfig::django())?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ## The format (Django 5.2, `django/core/signing.py`)
///
/// ```text
/// cookie    = [ "." ] b64u(json or zlib(json)) ":" base62(timestamp) ":" b64u(HMAC-SHA256(key, everything before the last ":"))
/// key       = SHA256("django.contrib.sessions.backends.signed_cookies" "signer" SECRET_KEY)   (salted_hmac)
/// json      = json.dumps(session, separators=(",", ":"))    (ASCII only, no tags)
/// ```
///
/// zlib (level 6) is used, with the leading `.`, only when it saves at
/// least 2 bytes (`compress=True`). `SECRET_KEY` signs; it and each of
/// `SECRET_KEY_FALLBACKS` verify. [`websession_core::django_signing::DjangoSigner`]
/// is `django.core.signing`'s `TimestampSigner`, built on the same signer as
/// itsdangerous (django-concat derivation, SHA-256, `:`);
/// [`websession_core::django::DjangoCodec`] is the session backend's
/// configuration of it.
///
/// ## Behaviour, side by side
///
/// | | Django | websession ([`crate::SessionConfig::django`]) |
/// |---|---|---|
/// | cookie | `sessionid`, `expires=…`, `Max-Age=1209600`, `HttpOnly`, `Path=/`, `SameSite=Lax` | the same, without the `Max-Age` that repeats `Expires` |
/// | a request with a bad cookie and an unused session | deletes the cookie | sends nothing (the cookie is refused again next time) |
/// | oldest cookie accepted | `SESSION_COOKIE_AGE` | the lifetime (`SESSION_COOKIE_AGE`) |
/// | signed in the future | accepted | accepted (Django's rule) |
/// | bad signature, expired, bad base64/zlib/JSON | empty session | empty session |
/// | signed payload that is JSON but not an object | 500 | empty session |
/// | compressed payload | inflated without a limit | inflated up to 256 KiB, else empty session |
/// | `SESSION_SAVE_EVERY_REQUEST` (default off) | | [`with_lifetime(\|l\| l.with_refresh(Refresh::EveryRequest))`](crate::Lifetime::with_refresh) |
/// | `SESSION_EXPIRE_AT_BROWSER_CLOSE` | no `Max-Age`/`expires` | [`with_lifetime(\|l\| l.with_expire_at_browser_close())`](crate::Lifetime::with_expire_at_browser_close) |
/// | emptied session | cookie deleted | cookie deleted |
///
/// Django's per-session `set_expiry` (the `_session_expiry` key) is not
/// read: the signed-cookie backend ignores it on load too ("doesn't handle
/// non-default expiry dates, see #19201").
///
/// ## Values
///
/// As for Starlette ([`crate::docs::starlette`]): plain JSON only, keys
/// written in code-point order, no hidden keys (so no absolute timeout).
/// Django reads the JSON as Latin-1; so does websession.
///
/// ## Django's login, read-only
///
/// `django.contrib.auth.login` stores:
///
/// | key | holds |
/// |---|---|
/// | `_auth_user_id` | the user's primary key, as a string (`"1"`) |
/// | `_auth_user_backend` | the backend's dotted path (`django.contrib.auth.backends.ModelBackend`) |
/// | `_auth_user_hash` | `salted_hmac("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash", password, algorithm="sha256").hexdigest()` |
///
/// A Rust handler can read them to know who is logged in (the cookie's
/// signature proves Django wrote them). It can't log a user in for Django:
/// the hash needs the user's password hash from Django's database, which the
/// Rust side doesn't have, and Django logs out a session whose hash doesn't
/// match. Log users in and out on the Django side; removing the keys (or
/// clearing the session) on the Rust side does log the user out.
///
/// ## Proof
///
/// `testdata/django_vectors.json` is made by the real Django
/// (`interop/make_starlette_django_vectors.py`), compressed cookies and
/// fallback keys included, and checked byte for byte by
/// `crates/core/tests/it/starlette_django.rs`. `interop/tests/live/python_frameworks.rs`
/// serves `interop/django_app.py` (Django under uvicorn, ASGI) beside a Rust
/// app with the same keys over real HTTP.
///
/// ## Django's database backend
///
/// Django's default `SESSION_ENGINE` keeps sessions in the `django_session`
/// table and only the key in the cookie. The crate `websession-python`
/// reads and writes that table in place (PostgreSQL or SQLite):
/// `DjangoStore` under [`crate::Sessions::store`] with
/// [`crate::SessionConfig::django`], the same `SECRET_KEY` and fallbacks.
/// Its `django` module is the page on what is shared (the key, the signed
/// `session_data`, `expire_date`, `cycle_key`, the `_auth_user_hash` check a
/// Rust app can make when it can read the user's password hash) and what
/// differs; `examples/django_db_bridge/` is a runnable pair.
pub mod django {}
