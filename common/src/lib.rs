//! Plumbing shared by Brigade's three processes: logging, gRPC serving with
//! health/reflection/grpc-web, graceful shutdown, database connections, and
//! security (bearer-token auth in `auth`, rustls TLS and mTLS in `tls`).

pub mod auth;
pub mod balance;
pub mod config;
pub mod db;
pub mod grpc;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod readiness;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod trace;
