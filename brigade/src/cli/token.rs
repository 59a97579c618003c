//! `brigade token create|list|revoke`: job-queue's token admin RPCs (they
//! need an `admin` token in `BRIGADE_TOKEN`). A new token's secret is printed
//! once; the server keeps only its hash and never shows it again.

use brigade_proto::jobqueue::v1 as pb;
use serde_json::{Value, json};

use super::output::{self, print_fields, print_json, print_table, spin};
use super::{CliError, CliResult, Connection, Outcome};

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Creates an API token and prints its secret once.
    Create {
        /// A scope: read, submit, work or admin (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Limits the work scope to this service (by name; repeat for several).
        #[arg(long = "service")]
        services: Vec<String>,
        /// What the token is for (defaults to the first service, or the scopes).
        #[arg(long)]
        name: Option<String>,
    },
    /// Lists API tokens (never their secrets).
    List {
        /// Also list revoked tokens.
        #[arg(long)]
        all: bool,
    },
    /// Revokes an API token: its next call is refused.
    Revoke { id: String },
}

pub async fn run(command: TokenCommand, c: &Connection) -> CliResult<Outcome> {
    let mut client = c.job_queue().await?;
    match command {
        TokenCommand::Create { scopes, services, name } => {
            let name = name
                .or_else(|| services.first().cloned())
                .unwrap_or_else(|| scopes.join("-"));
            let request = pb::CreateTokenRequest { name, scopes, services };
            let created = spin("creating token", client.create_token(c.request(request)))
                .await
                .map_err(|s| CliError::from_status("cannot create token", &s))?
                .into_inner();
            let token = created.token.unwrap_or_default();
            if c.json {
                let mut value = token_json(&token);
                value["secret"] = Value::String(created.secret);
                print_json(&value);
            } else {
                print_fields(vec![
                    ("id", token.id.clone()),
                    ("name", token.name.clone()),
                    ("scopes", token.scopes.join(", ")),
                    ("services", services_cell(&token)),
                    ("token", created.secret),
                ]);
            }
            eprintln!("brigade: store this token now: it cannot be shown again");
        }
        TokenCommand::List { all } => {
            let tokens = spin(
                "listing tokens",
                client.list_tokens(c.request(pb::ListTokensRequest { include_revoked: all })),
            )
            .await
            .map_err(|s| CliError::from_status("cannot list tokens", &s))?
            .into_inner()
            .tokens;
            if c.json {
                print_json(&Value::Array(tokens.iter().map(token_json).collect()));
            } else {
                print_table(
                    &["ID", "NAME", "SCOPES", "SERVICES", "CREATED", "LAST USED", "REVOKED"],
                    tokens
                        .iter()
                        .map(|t| {
                            vec![
                                t.id.clone(),
                                t.name.clone(),
                                t.scopes.join(", "),
                                services_cell(t),
                                output::timestamp_cell(t.created.as_ref()),
                                output::timestamp_cell(t.last_used.as_ref()),
                                output::timestamp_cell(t.revoked.as_ref()),
                            ]
                        })
                        .collect(),
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let what = format!("cannot revoke token {id}");
            let token = spin(
                "revoking token",
                client.revoke_token(c.request(pb::RevokeTokenRequest { id })),
            )
            .await
            .map_err(|s| CliError::from_status(&what, &s))?
            .into_inner()
            .token
            .unwrap_or_default();
            if c.json {
                print_json(&token_json(&token));
            } else {
                println!("revoked token {} ({})", token.id, token.name);
            }
        }
    }
    Ok(Outcome::Success)
}

fn services_cell(t: &pb::Token) -> String {
    if t.services.is_empty() {
        "all".to_owned()
    } else {
        t.services.join(", ")
    }
}

fn token_json(t: &pb::Token) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "scopes": t.scopes,
        "services": t.services,
        "created": output::timestamp_json(t.created.as_ref()),
        "last_used": output::timestamp_json(t.last_used.as_ref()),
        "revoked": output::timestamp_json(t.revoked.as_ref()),
    })
}
