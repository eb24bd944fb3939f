//! End-to-end tests of Fieldloop across its crates live in `it/`; helper
//! programs the tests start and kill live in `bin/`.
