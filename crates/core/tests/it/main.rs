//! Integration tests of websession-core.

mod props;
mod sealed;
mod store;
mod tamper;
mod vectors;
