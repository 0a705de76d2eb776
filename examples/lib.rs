//! Pieces shared by the websession examples: the pet-name app itself, so the
//! example binaries, the tests and the benchmarks serve the same pages.

use axum::response::{Html, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use websession::{Session, SessionError};

/// The form posted to `/petname`.
#[derive(serde::Deserialize)]
pub struct PetForm {
    /// The pet's name.
    pub pet: String,
}

/// Escapes text for HTML: the pet's name comes from the user.
#[must_use]
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// `GET /`: the pet's name, or that we don't know it.
pub async fn home(session: Session) -> Html<String> {
    let body = match session.get::<String>("pet_name") {
        Ok(Some(name)) => format!("<p>Your pet's name is {}.</p>", escape_html(&name)),
        _ => "<p>I do not know your pet's name.</p>".to_owned(),
    };
    Html(format!(
        "<!doctype html><title>Pet name</title>{body}<p><a href=\"/petname\">Set your pet's name</a></p>"
    ))
}

/// `GET /petname`: the form.
pub async fn form() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Pet name</title>\
         <form method=\"post\" action=\"/petname\">\
         <label>Pet's name <input name=\"pet\" autofocus></label> \
         <button type=\"submit\">Save</button></form>",
    )
}

/// `POST /petname`: store the name, make the session permanent, go home.
pub async fn set_pet(
    session: Session,
    Form(form): Form<PetForm>,
) -> Result<Redirect, SessionError> {
    session.insert("pet_name", &form.pet)?;
    session.set_permanent(true);
    Ok(Redirect::to("/"))
}

/// The pet-name routes, without the session layer.
pub fn petname_routes() -> Router {
    Router::new()
        .route("/", get(home))
        .route("/petname", get(form).post(set_pet))
}
