//! Integration tests of websession-core.

mod dates;
mod flask_ext;
mod props;
mod sealed;
mod starlette_django;
mod store;
mod tamper;
mod vectors;
