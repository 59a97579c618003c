//! The tokens table: SQL both drivers share, and the row's conversion. Only
//! the hex SHA-256 of a secret is stored; the hash is the lookup key.

use std::collections::BTreeSet;

use brigade_common::auth::{Scope, TokenHash, TokenRecord};
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

pub const INSERT_TOKEN: &str = "INSERT INTO jq_tokens (id, name, scopes, services, hash, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub const LIST_TOKENS: &str = "SELECT * FROM jq_tokens WHERE ($1 OR revoked_at IS NULL) ORDER BY created_at, id";
pub const ACTIVE_TOKEN_BY_HASH: &str = "SELECT * FROM jq_tokens WHERE hash = $1 AND revoked_at IS NULL";
/// Revoking twice keeps the first time.
pub const REVOKE_TOKEN: &str = "UPDATE jq_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *";
/// Writes only when the stored time is older than `$3`, so busy tokens cost one write a minute.
pub const TOUCH_TOKEN: &str =
    "UPDATE jq_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)";

#[derive(sqlx::FromRow)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub services: String,
    pub hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The columns a new token is written with: (scopes, services).
pub fn columns(record: &TokenRecord) -> Result<(String, String)> {
    let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
    let services = serde_json::to_string(&record.services).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((scopes.join(","), services))
}

fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = Error;

    fn try_from(row: TokenRow) -> Result<Self> {
        let corrupt = |what: &str| {
            // Never the value: it could be near a secret.
            tracing::error!(token_id = %row.id, column = what, "unreadable token row");
            Error::Internal(format!("token {} has an unreadable {what}", row.id))
        };
        let scopes = row
            .scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse::<Scope>)
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|_| corrupt("scopes"))?;
        let services: Vec<String> = serde_json::from_str(&row.services).map_err(|_| corrupt("services"))?;
        let hash = TokenHash::from_hex(&row.hash).ok_or_else(|| corrupt("hash"))?;
        Ok(TokenRecord {
            id: row.id,
            name: row.name,
            scopes,
            services,
            hash,
            created_at: time(row.created_at),
            last_used_at: row.last_used_at.map(time),
            revoked_at: row.revoked_at.map(time),
        })
    }
}
