//! Brigade's own additions to the REST surface: the worker protocol under
//! TopChef's paths (batch submit, claim, heartbeat, complete, fail, cancel),
//! health, metrics and the API documentation.

pub mod docs;
pub mod health;
pub mod interface;
pub mod leases;
pub mod model;
pub mod stats;
