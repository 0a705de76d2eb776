//! Integration tests of websession-core.

mod props;
mod tamper;
mod vectors;
