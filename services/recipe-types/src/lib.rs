//! Brigade's recipe-types service: versioned recipe definitions (Scale v6), over gRPC.

pub mod config;
pub mod definition;
pub mod domain;
pub mod engine;
pub mod error;
pub mod grpc;
mod grpc_recipes;
pub mod job_types;
pub mod jobs;
pub mod recipe;
pub mod repository;
pub mod service;
pub mod startup;

pub use config::Config;
pub use startup::Application;
