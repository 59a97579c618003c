//! Brigade's end-to-end tests: one binary, one module per surface, so the
//! whole system is linked once (zero-to-production's `tests/api/main.rs`).
//!
//! Every test boots what it needs on port 0 (or on ports picked at run time),
//! so the suite runs while `cargo run --bin brigade` holds 8080/50051/50052.
//! PostgreSQL tests need `DATABASE_URL` reachable unless the run opts out with
//! `BRIGADE_TEST_SKIP_POSTGRES=1` (see `brigade_tests::TestDatabase`).

mod auth_grpc;
mod auth_rest;
mod cli;
mod concurrency;
mod console;
mod deploy_contract;
mod docs;
mod foundation;
mod hostile;
mod leases;
mod openapi;
mod operations;
mod processes;
mod queue_controls;
mod queue_crashes;
mod queue_rest;
mod readiness;
mod recipe_crashes;
mod recipes;
mod recipes_reprocess;
mod recipes_rest;
mod recipes_sse;
mod rest_surface;
mod scale;
mod topchef;
mod topchef_stats;
mod traces;
