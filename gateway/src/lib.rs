//! Brigade's REST gateway: the TopChef and Scale v6 JSON surfaces, translated
//! into gRPC calls to job-queue and recipe-types. It holds no database.

pub mod auth;
pub mod body;
pub mod brigade;
pub mod config;
pub mod console;
pub mod cors;
pub mod envelope;
pub mod error;
pub mod fields;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod scale;
pub mod startup;
pub mod state;
pub mod topchef;

pub use config::Config;
pub use startup::Application;
