//! Shared pieces of the websession benchmarks (see `bench/run` and `src/bin`).
