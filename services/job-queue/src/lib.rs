//! Brigade's job-queue service: services (= job types) and jobs, over gRPC.

pub mod background;
pub mod cache;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod metrics;
pub mod repository;
pub mod service;
pub mod startup;

pub use config::Config;
pub use startup::Application;
