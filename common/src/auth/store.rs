//! Where tokens are looked up: the [`TokenStore`] trait, and the static store
//! every process loads from `BRIGADE_TOKENS_FILE`.
//!
//! The file is JSON (one format, parsed by serde, no hand-written parser):
//!
//! ```json
//! {
//!   "tokens": [
//!     { "name": "gateway", "token": "brg_…", "scopes": ["admin"] },
//!     { "name": "microscope-1", "sha256": "<64 hex digits>", "scopes": ["work"],
//!       "services": ["microscope-1"] }
//!   ],
//!   "certificates": [
//!     { "identity": "microscope-2.lab.example", "scopes": ["work"], "services": ["microscope-2"] }
//!   ]
//! }
//! ```
//!
//! Each token gives exactly one of `token` (plaintext, at least 32 characters)
//! or `sha256` (the hex SHA-256 of the token, so a Kubernetes Secret need not
//! hold the plaintext). `id` is optional (default `file:<name>`); names are
//! unique. `services` limits the `work` scope. `certificates` map a client
//! certificate's identity (subject CN, else first DNS name) to scopes, for mTLS.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Mutex;

use chrono::Utc;
use serde::Deserialize;

use super::scope::{Principal, Scope};
use super::token::{BearerToken, MIN_TOKEN_LEN, TokenHash, TokenRecord};

/// The store could not answer (e.g. its database is down): not the caller's fault.
#[derive(Debug, Clone, thiserror::Error)]
#[error("token store unavailable")]
pub struct StoreUnavailable;

/// Looks up who a credential belongs to. Async so that a database-backed
/// store (job-queue's tokens table) can implement it; `Ok(None)` means the
/// credential is unknown or revoked.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    async fn authenticate(&self, token: &BearerToken) -> Result<Option<Principal>, StoreUnavailable>;

    /// The principal of a verified client certificate's identity, if the store maps it.
    async fn authenticate_certificate(&self, identity: &str) -> Result<Option<Principal>, StoreUnavailable> {
        let _ = identity;
        Ok(None)
    }
}

/// A tokens file that cannot be used. The message never quotes the file's content.
#[derive(Debug, thiserror::Error)]
#[error("tokens file {path}: {message}")]
pub struct TokensFileError {
    pub path: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
    #[serde(default)]
    certificates: Vec<CertificateEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    id: Option<String>,
    name: String,
    token: Option<String>,
    sha256: Option<String>,
    scopes: BTreeSet<Scope>,
    #[serde(default)]
    services: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateEntry {
    identity: String,
    scopes: BTreeSet<Scope>,
    #[serde(default)]
    services: Vec<String>,
}

/// Tokens and certificate identities fixed at start-up (revoking one means
/// editing the file and restarting; the database store revokes at once).
#[derive(Debug)]
pub struct StaticTokenStore {
    tokens: Mutex<Vec<TokenRecord>>,
    certificates: Vec<Principal>,
}

impl StaticTokenStore {
    pub fn from_records(tokens: Vec<TokenRecord>) -> Self {
        Self {
            tokens: Mutex::new(tokens),
            certificates: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Self, TokensFileError> {
        let fail = |message: String| TokensFileError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Self::parse(&text).map_err(fail)
    }

    /// Parses the file's text; errors give a position and a cause, never a value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: TokensFile = serde_json::from_str(text).map_err(|e| {
            // serde's message may quote the offending value (a token): give its kind only.
            let cause = match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not valid JSON",
                _ => "unexpected field, missing field or wrong type (see the documented format)",
            };
            format!("line {} column {}: {cause}", e.line(), e.column())
        })?;
        let mut names = HashSet::new();
        let mut hashes = HashSet::new();
        let mut tokens = Vec::new();
        for entry in file.tokens {
            let name = entry.name.trim().to_owned();
            if name.is_empty() || !names.insert(name.clone()) {
                return Err(format!("token names must be present and unique ({name:?})"));
            }
            check_services(&name, &entry.scopes, &entry.services)?;
            let hash = match (entry.token, entry.sha256) {
                (Some(token), None) if token.trim().len() >= MIN_TOKEN_LEN && !token.contains(char::is_whitespace) => {
                    TokenHash::of(token.trim())
                }
                (Some(_), None) => {
                    return Err(format!(
                        "token {name:?}: a token needs at least {MIN_TOKEN_LEN} characters and no spaces"
                    ));
                }
                (None, Some(hex)) => {
                    TokenHash::from_hex(&hex).ok_or_else(|| format!("token {name:?}: sha256 must be 64 hex digits"))?
                }
                _ => return Err(format!("token {name:?}: give exactly one of \"token\" or \"sha256\"")),
            };
            if !hashes.insert(hash) {
                return Err(format!("token {name:?}: the same token is listed twice"));
            }
            tokens.push(TokenRecord {
                id: entry.id.unwrap_or_else(|| format!("file:{name}")),
                name,
                scopes: entry.scopes,
                services: entry.services,
                hash,
                created_at: Utc::now(),
                last_used_at: None,
                revoked_at: None,
            });
        }
        let mut certificates = Vec::new();
        for entry in file.certificates {
            let identity = entry.identity.trim().to_owned();
            if identity.is_empty() || certificates.iter().any(|p: &Principal| p.name == identity) {
                return Err(format!(
                    "certificate identities must be present and unique ({identity:?})"
                ));
            }
            check_services(&identity, &entry.scopes, &entry.services)?;
            certificates.push(Principal {
                token_id: format!("cert:{identity}"),
                name: identity,
                scopes: entry.scopes,
                services: entry.services,
            });
        }
        Ok(Self {
            tokens: Mutex::new(tokens),
            certificates,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty() && self.tokens.lock().map_or(true, |t| t.is_empty())
    }

    /// The records, for listing (hashes stay inside the records).
    pub fn records(&self) -> Vec<TokenRecord> {
        self.tokens.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

fn check_services(name: &str, scopes: &BTreeSet<Scope>, services: &[String]) -> Result<(), String> {
    if !services.is_empty() && !scopes.contains(&Scope::Work) {
        return Err(format!(
            "{name:?}: services limit the work scope; add \"work\" to its scopes"
        ));
    }
    if services.iter().any(|s| s.trim().is_empty()) {
        return Err(format!("{name:?}: service names must not be empty"));
    }
    Ok(())
}

#[async_trait::async_trait]
impl TokenStore for StaticTokenStore {
    async fn authenticate(&self, token: &BearerToken) -> Result<Option<Principal>, StoreUnavailable> {
        let presented = token.hash();
        let mut tokens = self.tokens.lock().map_err(|_| StoreUnavailable)?;
        // Look at every record, so the time taken does not depend on which one matched.
        let mut found = None;
        for (i, record) in tokens.iter().enumerate() {
            if record.hash.matches(&presented) && !record.is_revoked() {
                found = Some(i);
            }
        }
        Ok(found.map(|i| {
            tokens[i].last_used_at = Some(Utc::now());
            tokens[i].principal()
        }))
    }

    async fn authenticate_certificate(&self, identity: &str) -> Result<Option<Principal>, StoreUnavailable> {
        Ok(self.certificates.iter().find(|p| p.name == identity).cloned())
    }
}

/// Several stores asked in order, first match wins: the tokens file (service
/// credentials, there before any row) then job-queue's database.
pub struct ChainedStore(pub Vec<std::sync::Arc<dyn TokenStore>>);

#[async_trait::async_trait]
impl TokenStore for ChainedStore {
    async fn authenticate(&self, token: &BearerToken) -> Result<Option<Principal>, StoreUnavailable> {
        for store in &self.0 {
            if let Some(principal) = store.authenticate(token).await? {
                return Ok(Some(principal));
            }
        }
        Ok(None)
    }

    async fn authenticate_certificate(&self, identity: &str) -> Result<Option<Principal>, StoreUnavailable> {
        for store in &self.0 {
            if let Some(principal) = store.authenticate_certificate(identity).await? {
                return Ok(Some(principal));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "brg_0123456789abcdef0123456789abcdef";

    fn file(extra: &str) -> String {
        let hash = TokenHash::of("brg_hashed_token_hashed_token_hashed").to_hex();
        format!(
            r#"{{"tokens": [
                {{"name": "gateway", "token": "{PLAIN}", "scopes": ["admin"]}},
                {{"name": "scope-1", "id": "tok_scope1", "sha256": "{hash}", "scopes": ["work"], "services": ["microscope-1"]}}
                {extra}
            ], "certificates": [{{"identity": "worker.lab", "scopes": ["work"]}}]}}"#
        )
    }

    #[tokio::test]
    async fn plaintext_and_hashed_entries_authenticate() {
        let store = StaticTokenStore::parse(&file("")).unwrap();
        let gateway = store.authenticate(&BearerToken::new(PLAIN)).await.unwrap().unwrap();
        assert_eq!(gateway.token_id, "file:gateway");
        assert!(gateway.allows(Scope::Admin, None));
        let worker = store
            .authenticate(&BearerToken::new("brg_hashed_token_hashed_token_hashed"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(worker.token_id, "tok_scope1");
        assert!(worker.allows(Scope::Work, Some("microscope-1")));
        assert!(!worker.allows(Scope::Work, Some("microscope-2")));
        assert_eq!(
            store.authenticate(&BearerToken::new("brg_unknown")).await.unwrap(),
            None
        );
        let cert = store.authenticate_certificate("worker.lab").await.unwrap().unwrap();
        assert_eq!(cert.token_id, "cert:worker.lab");
        assert_eq!(store.authenticate_certificate("other").await.unwrap(), None);
        let used = store.records();
        assert!(
            used.iter()
                .find(|r| r.name == "gateway")
                .unwrap()
                .last_used_at
                .is_some()
        );
    }

    #[tokio::test]
    async fn revoked_records_are_refused() {
        let (token, mut record) = TokenRecord::create("w", BTreeSet::from([Scope::Work]), vec![]).unwrap();
        record.revoked_at = Some(Utc::now());
        let store = StaticTokenStore::from_records(vec![record]);
        assert_eq!(store.authenticate(&token).await.unwrap(), None);
    }

    #[test]
    fn bad_files_are_refused_without_quoting_values() {
        let cases = [
            (
                file(r#",{"name": "gateway", "token": "brg_another_token_another_token_x", "scopes": []}"#),
                "unique",
            ),
            (
                file(r#",{"name": "short", "token": "brg_short", "scopes": []}"#),
                "at least",
            ),
            (
                file(
                    r#",{"name": "both", "token": "brg_0123456789abcdef0123456789abcdeX", "sha256": "00", "scopes": []}"#,
                ),
                "exactly one",
            ),
            (file(r#",{"name": "bad", "sha256": "xyz", "scopes": []}"#), "64 hex"),
            (
                file(r#",{"name": "again", "token": "brg_0123456789abcdef0123456789abcdef", "scopes": []}"#),
                "twice",
            ),
            (
                file(
                    r#",{"name": "r", "token": "brg_0123456789abcdef0123456789abcdeY", "scopes": ["read"], "services": ["a"]}"#,
                ),
                "limit the work",
            ),
            (
                file(r#",{"name": "r", "token": "brg_0123456789abcdef0123456789abcdeZ", "scopes": ["root"]}"#),
                "wrong type",
            ),
            (
                r#"{"tokens": [{"name": "x", "token": 12345678901234567890123456789012345}]}"#.to_owned(),
                "line 1",
            ),
            (
                format!(r#"{{"tokens": [{{"name": "x", "scopes": "{PLAIN}"}}]}}"#),
                "wrong type",
            ),
            ("{".to_owned(), "not valid JSON"),
        ];
        for (text, expected) in cases {
            let error = StaticTokenStore::parse(&text).unwrap_err();
            assert!(error.contains(expected), "{error:?} should contain {expected:?}");
            assert!(!error.contains("brg_"), "{error:?} quotes a token");
        }
    }

    #[tokio::test]
    async fn a_chain_asks_each_store_in_order() {
        let (first, a) = TokenRecord::create("a", BTreeSet::from([Scope::Read]), vec![]).unwrap();
        let (second, b) = TokenRecord::create("b", BTreeSet::from([Scope::Admin]), vec![]).unwrap();
        let chain = ChainedStore(vec![
            std::sync::Arc::new(StaticTokenStore::from_records(vec![a])),
            std::sync::Arc::new(StaticTokenStore::parse(&file("")).unwrap()),
            std::sync::Arc::new(StaticTokenStore::from_records(vec![b])),
        ]);
        assert_eq!(chain.authenticate(&first).await.unwrap().unwrap().name, "a");
        assert_eq!(chain.authenticate(&second).await.unwrap().unwrap().name, "b");
        assert_eq!(
            chain
                .authenticate(&BearerToken::new(PLAIN))
                .await
                .unwrap()
                .unwrap()
                .name,
            "gateway"
        );
        assert_eq!(chain.authenticate(&BearerToken::new("brg_none")).await.unwrap(), None);
        assert!(chain.authenticate_certificate("worker.lab").await.unwrap().is_some());
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let error = StaticTokenStore::load(&path).unwrap_err();
        assert!(error.to_string().contains("tokens.json"));
        std::fs::write(&path, file("")).unwrap();
        assert!(!StaticTokenStore::load(&path).unwrap().is_empty());
    }
}
