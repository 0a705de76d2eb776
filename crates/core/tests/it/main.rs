//! Integration tests of websession-core.

mod dates;
mod props;
mod sealed;
mod store;
mod tamper;
mod vectors;
