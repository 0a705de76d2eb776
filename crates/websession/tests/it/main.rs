//! Integration tests of the websession facade: the engine's rules through the
//! tower layer and the actix-web middleware, driven in-process (`kit.rs`
//! mounts one app on both, and its `scenario!` runs a behaviour on each).

mod adapters;
mod api;
mod back_doors;
mod catalogue;
mod defects;
mod flask_ext;
mod flask_http;
mod kit;
mod lifetime;
mod logins;
mod metrics;
mod modes;
mod overflow;
mod python_modes;
mod refresh;
mod review;
mod revocation;
mod rules;
mod store_mode;
mod support;
mod token;
