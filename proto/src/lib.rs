//! Generated gRPC code for Brigade's two services, and the one error-reason
//! vocabulary every Brigade process and client shares.

#![allow(clippy::all, clippy::pedantic)]

pub mod jobqueue {
    pub mod v1 {
        tonic::include_proto!("brigade.jobqueue.v1");
    }
}

pub mod recipetypes {
    pub mod v1 {
        tonic::include_proto!("brigade.recipetypes.v1");
    }
}

pub mod errors {
    pub mod v1 {
        tonic::include_proto!("brigade.errors.v1");
    }
}

mod reason;

pub use errors::v1::ErrorReason;

/// Encoded file descriptor set of every Brigade proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/brigade_descriptor.bin"));
