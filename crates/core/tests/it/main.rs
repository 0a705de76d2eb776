//! Integration tests of websession-core.

mod props;
mod sealed;
mod tamper;
mod vectors;
