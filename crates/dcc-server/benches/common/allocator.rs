//! The allocator the `dcc` binary ships with (`crates/dcc-cli/src/main.rs`), so that the
//! benchmarks measure what runs.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
