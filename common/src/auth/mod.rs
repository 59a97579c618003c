//! Who may call what: bearer tokens with scopes, checked the same way on gRPC
//! (a tower layer) and REST (a header check the gateway calls). See
//! `README.md` in this folder for how each process wires it in.

mod authenticator;
mod config;
mod error;
mod grpc;
pub mod methods;
mod remote;
mod scope;
mod store;
mod token;

pub use authenticator::{Authenticator, bearer_token};
pub use config::{AuthConfig, AuthMode, check_exposure};
pub use error::{AUTH_FAILURES, AuthError, WWW_AUTHENTICATE};
pub use grpc::{
    AUDIT_TARGET, Auth, AuthLayer, ClientCredentials, CredentialedChannel, DELEGATED_CERTIFICATE, MethodScopes,
    TracedCredentials, bearer_value, forward_authorization, method_paths, with_caller_authorization,
    with_caller_certificate,
};
pub use remote::{RemoteStore, principal_to_pb, remote_authenticator};
pub use scope::{Principal, Scope, UnknownScope};
pub use store::{ChainedStore, StaticTokenStore, StoreUnavailable, TokenStore, TokensFileError};
pub use token::{BearerToken, MIN_TOKEN_LEN, TOKEN_PREFIX, TokenHash, TokenRecord, new_token_id};
