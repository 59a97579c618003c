//! Identifiers and versions as their own types, so a job id cannot be passed
//! where a service id belongs and a row version is never mistaken for a revision.

use std::fmt;
use std::marker::PhantomData;

use crate::error::{Error, Result};

/// A UUID id of one kind of resource, held as normalised text (lowercase, hyphenated).
pub struct Id<K> {
    text: String,
    kind: PhantomData<fn() -> K>,
}

/// The kind marker of [`ServiceId`].
pub enum ServiceKind {}
/// The kind marker of [`JobId`].
pub enum JobKind {}

/// A service's (job type's) id.
pub type ServiceId = Id<ServiceKind>;
/// A job's id.
pub type JobId = Id<JobKind>;

impl<K> Id<K> {
    fn new(text: String) -> Self {
        Self {
            text,
            kind: PhantomData,
        }
    }

    /// A fresh random id.
    pub fn generate() -> Self {
        Self::new(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    /// Any UUID form Python's `UUID()` takes, normalised; `field` names the
    /// request field in the error.
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        uuid::Uuid::parse_str(text.trim())
            .map(|u| Self::new(u.hyphenated().to_string()))
            .map_err(|_| Error::invalid(field, format!("the string {text} could not be converted to a UUID")))
    }

    /// An id read back from storage, which only ever holds normalised ids.
    pub fn from_stored(text: String) -> Self {
        Self::new(text)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn into_string(self) -> String {
        self.text
    }
}

// Written out rather than derived: derives would demand the marker implement them too.
impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self::new(self.text.clone())
    }
}

impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<K> Eq for Id<K> {}

impl<K> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl<K> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The optimistic-concurrency version of a stored service: every write bumps
/// it, and a write that expected another version changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowVersion(pub i64);

impl RowVersion {
    pub const FIRST: Self = Self(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_normalised() {
        let id = JobId::parse("id", " 6F9619FF8B86D011B42D00C04FC964FF ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id.as_str(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assert!(ServiceId::parse("id", "nope").is_err());
    }
}
