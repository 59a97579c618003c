//! Bearer tokens: generated, hashed, and never shown.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::scope::{Principal, Scope};

/// Every generated token starts with this, so secret scanners can find a leaked one.
pub const TOKEN_PREFIX: &str = "brg_";
/// 32 random bytes: 256 bits, well above the 128 the design asks for.
const TOKEN_BYTES: usize = 32;
/// Shortest plaintext token accepted in a tokens file (16 random bytes in hex).
pub const MIN_TOKEN_LEN: usize = 32;

/// A plaintext bearer token. `Debug` and `Display` never show it; only
/// [`BearerToken::expose`] does, for the one place that sends or prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// A new random token: `brg_` + 64 hex digits from the OS's CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(format!("{TOKEN_PREFIX}{}", hex::encode(bytes))))
    }

    /// Wraps a token read from a header, a file or the environment.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// The stored form of a token.
///
/// A plain SHA-256 (no salt, no slow KDF) is enough here because tokens are
/// ≥ 128 bits of randomness: nobody can enumerate the input space, so a leaked
/// hash cannot be reversed, and a fast hash lets every request be checked
/// without a password-hashing cost. (User-chosen passwords would need argon2.)
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Parses 64 hex digits (as stored in a tokens file or a database column).
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).ok()?;
        Some(Self(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Compares in constant time, so timing says nothing about how much matched.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// A random public id for a token, unrelated to the secret: `tok_` + 16 hex digits.
pub fn new_token_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)?;
    Ok(format!("tok_{}", hex::encode(bytes)))
}

/// What a store keeps about a token. Only the hash of the secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// Services a `work` scope is limited to; empty means all.
    pub services: Vec<String>,
    pub hash: TokenHash,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Creates a token: the plaintext to show once, and the record to store.
    pub fn create(
        name: impl Into<String>,
        scopes: BTreeSet<Scope>,
        services: Vec<String>,
    ) -> Result<(BearerToken, Self), getrandom::Error> {
        let token = BearerToken::generate()?;
        let record = Self {
            id: new_token_id()?,
            name: name.into(),
            scopes,
            services,
            hash: token.hash(),
            created_at: Utc::now(),
            last_used_at: None,
            revoked_at: None,
        };
        Ok((token, record))
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    pub fn principal(&self) -> Principal {
        Principal {
            token_id: self.id.clone(),
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            services: self.services.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_long_random_and_prefixed() {
        let a = BearerToken::generate().unwrap();
        let b = BearerToken::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(a.expose().len(), TOKEN_PREFIX.len() + 64);
        assert!(a.expose()[TOKEN_PREFIX.len()..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let (token, record) = TokenRecord::create("t", BTreeSet::from([Scope::Read]), vec![]).unwrap();
        let shown = format!("{token:?} {record:?} {:?}", record.principal());
        assert!(!shown.contains(token.expose()));
        assert!(!shown.contains(&record.hash.to_hex()));
        assert!(!shown.contains(&token.expose()[TOKEN_PREFIX.len()..TOKEN_PREFIX.len() + 8]));
    }

    #[test]
    fn hash_round_trips_and_compares() {
        let token = BearerToken::generate().unwrap();
        let hash = token.hash();
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert!(hash.matches(&TokenHash::of(token.expose())));
        assert!(!hash.matches(&TokenHash::of("brg_other")));
        assert_eq!(TokenHash::from_hex("abc"), None);
        // SHA-256 of "abc", a published test vector.
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ids_are_unrelated_to_the_secret() {
        let (token, record) = TokenRecord::create("t", BTreeSet::new(), vec![]).unwrap();
        assert!(record.id.starts_with("tok_"));
        assert!(!token.expose().contains(&record.id["tok_".len()..]));
    }
}
