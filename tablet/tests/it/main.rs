//! Integration tests of `fieldloop-tablet`: one binary, one module per area.

#![allow(clippy::unwrap_used)]

mod arbitrary;
mod at_rest;
mod inspect;
mod photo;
mod print;
mod store;
