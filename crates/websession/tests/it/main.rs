//! Integration tests of the websession facade: the engine's rules through the
//! tower layer, driven in-process with `oneshot`.

#[cfg(feature = "actix")]
mod adapters;
mod api;
mod back_doors;
#[cfg(feature = "actix")]
mod catalogue;
mod defects;
mod flask_ext;
mod flask_http;
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
