//! The Rust half of the FastAPI bridge (`examples/fastapi_bridge/`): the same
//! cart routes as the FastAPI app, on the same Starlette session cookie, so
//! a cart filled on one side is read, changed and emptied on the other.

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use websession::{Session, SessionError, Sessions};

/// What `/cart` answers on both sides.
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cart {
    /// Which app answered: `rust` or `fastapi`.
    pub served_by: String,
    /// The logged-in user (`null` for none).
    pub user: Option<String>,
    /// The items, oldest first.
    pub cart: Vec<String>,
}

/// `?user=` of `/login`.
#[derive(serde::Deserialize)]
pub struct UserArg {
    /// The user's name.
    pub user: String,
}

/// `?item=` of `/add`.
#[derive(serde::Deserialize)]
pub struct ItemArg {
    /// The item to add.
    pub item: String,
}

fn cart(session: &Session) -> Result<Json<Cart>, SessionError> {
    Ok(Json(Cart {
        served_by: "rust".into(),
        user: session.get::<Option<String>>("user")?.flatten(),
        cart: session.get("cart")?.unwrap_or_default(),
    }))
}

/// The cart routes (`/cart`, `/login?user=`, `/add?item=`, `/checkout`)
/// behind the session layer of `sessions`
/// ([`Sessions::starlette`] with the FastAPI app's `secret_key`).
pub fn router(sessions: Sessions) -> Router {
    Router::new()
        .route("/cart", get(|s: Session| async move { cart(&s) }))
        .route(
            "/login",
            get(|s: Session, Query(q): Query<UserArg>| async move {
                s.insert("user", &q.user)?;
                cart(&s)
            }),
        )
        .route(
            "/add",
            get(|s: Session, Query(q): Query<ItemArg>| async move {
                let mut items: Vec<String> = s.get("cart")?.unwrap_or_default();
                items.push(q.item);
                s.insert("cart", &items)?;
                cart(&s)
            }),
        )
        .route(
            "/checkout",
            get(|s: Session| async move {
                s.remove_value("cart");
                cart(&s)
            }),
        )
        .layer(websession::SessionManagerLayer::new(sessions))
}
