//! `brigade token create|list|revoke`.
//!
//! NOT AVAILABLE YET: the services have no token RPCs. Each subcommand says so
//! and fails (exit 1) rather than pretending to succeed.

use super::{CliError, CliResult, Outcome};

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Creates an API token (not available on this server yet).
    Create {
        /// What the token is for.
        #[arg(long)]
        name: Option<String>,
    },
    /// Lists API tokens (not available on this server yet).
    List,
    /// Revokes an API token (not available on this server yet).
    Revoke { id: String },
}

pub fn run(_command: TokenCommand) -> CliResult<Outcome> {
    Err(CliError::new("tokens are not available on this server yet", ""))
}
