//! Tokens kept in job-queue's database: created (the plaintext is returned
//! once), listed, revoked at once, and looked up by hash for every call.

use std::collections::BTreeSet;

use brigade_common::auth::{BearerToken, Principal, Scope, StoreUnavailable, TokenRecord, TokenStore};
use chrono::Utc;

use super::JobQueue;
use crate::error::{Error, Result};

/// A token's last use is written at most this often (microseconds).
const TOUCH_EVERY_MICROS: i64 = 60 * 1_000_000;
const MAX_NAME_LEN: usize = 200;

/// What a new token may do.
#[derive(Clone, Debug, Default)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    pub services: Vec<String>,
}

impl NewToken {
    fn validate(self) -> Result<(String, BTreeSet<Scope>, Vec<String>)> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "name",
                format!("give a name of 1 to {MAX_NAME_LEN} printable characters"),
            ));
        }
        let scopes = self
            .scopes
            .iter()
            .map(|s| s.parse::<Scope>())
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|e| Error::invalid("scopes", e.to_string()))?;
        if scopes.is_empty() {
            return Err(Error::invalid(
                "scopes",
                "give at least one of read, submit, work, admin",
            ));
        }
        let services: Vec<String> = self.services.iter().map(|s| s.trim().to_owned()).collect();
        if services.iter().any(String::is_empty) {
            return Err(Error::invalid("services", "service names must not be empty"));
        }
        if !services.is_empty() && !scopes.contains(&Scope::Work) {
            return Err(Error::invalid(
                "services",
                "services limit the work scope; add work to the scopes",
            ));
        }
        Ok((name, scopes, services))
    }
}

impl JobQueue {
    /// Creates a token: the plaintext (shown once) and what is stored.
    pub async fn create_token(&self, new: NewToken) -> Result<(BearerToken, TokenRecord)> {
        let (name, scopes, services) = new.validate()?;
        let (token, record) = TokenRecord::create(name, scopes, services)
            .map_err(|e| Error::Internal(format!("no randomness for a token: {e}")))?;
        self.repo.insert_token(&record).await?;
        tracing::info!(token_id = %record.id, name = %record.name, "token created");
        Ok((token, record))
    }

    pub async fn list_tokens(&self, include_revoked: bool) -> Result<Vec<TokenRecord>> {
        self.repo.list_tokens(include_revoked).await
    }

    /// Revokes at once: the next call with the token is refused.
    pub async fn revoke_token(&self, id: &str) -> Result<TokenRecord> {
        let record = self
            .repo
            .revoke_token(id.trim(), Utc::now().timestamp_micros())
            .await?
            .ok_or_else(|| Error::TokenNotFound(id.trim().to_owned()))?;
        tracing::info!(token_id = %record.id, name = %record.name, "token revoked");
        Ok(record)
    }

    /// Who holds this token, if it is a stored token that is not revoked.
    pub async fn token_principal(&self, token: &BearerToken) -> Result<Option<Principal>> {
        let Some(record) = self.repo.active_token(&token.hash().to_hex()).await? else {
            return Ok(None);
        };
        let now = Utc::now().timestamp_micros();
        let recently = record
            .last_used_at
            .is_some_and(|t| now - t.timestamp_micros() < TOUCH_EVERY_MICROS);
        if !recently && let Err(error) = self.repo.touch_token(&record.id, now, now - TOUCH_EVERY_MICROS).await {
            // Bookkeeping only: the call goes on.
            tracing::warn!(token_id = %record.id, %error, "token last use not recorded");
        }
        Ok(Some(record.principal()))
    }
}

/// The tokens table as a [`TokenStore`], chained after the tokens file.
pub struct DatabaseTokenStore(pub std::sync::Arc<JobQueue>);

#[async_trait::async_trait]
impl TokenStore for DatabaseTokenStore {
    async fn authenticate(&self, token: &BearerToken) -> std::result::Result<Option<Principal>, StoreUnavailable> {
        self.0.token_principal(token).await.map_err(|error| {
            tracing::warn!(%error, "token look-up failed");
            StoreUnavailable
        })
    }
}
