//! The simulation alone, for `cargo xtask soak`: the same tests as `it`'s
//! `simulation` module (the same file), in a binary that holds nothing
//! else, so that a release build linked as one unit (fat LTO) optimises
//! only what the simulation reaches. Not built by `cargo test`
//! (`test = false`): `it` runs the simulation's fixed sample.

/// The same allocator as `it`'s, so that a seed runs as fast in both.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../it/simulation.rs"]
mod simulation;
