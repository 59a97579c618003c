//! What a caller may do: four scopes and the principal that holds them.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A permission a token carries.
///
/// `admin` implies every other scope. `submit` and `work` imply `read`: a
/// client that submits jobs must see them, and a worker must see the queue it
/// drains, so a token never needs `read` listed beside them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// List and get services, jobs, queues, recipe types; validate documents.
    Read,
    /// Submit jobs and recipes.
    Submit,
    /// Claim, heartbeat, complete and fail jobs, optionally only of named services.
    Work,
    /// Services, schemas, recipe types, cancelling, tokens.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Submit, Scope::Work, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Submit => "submit",
            Scope::Work => "work",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?} (expected read, submit, work or admin)")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| UnknownScope(s.trim().to_owned()))
    }
}

/// The authenticated caller of one request, put in the request's extensions.
/// Holds no secret: it may be logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's public id (or `cert:<identity>` for a client certificate).
    pub token_id: String,
    /// A human name for logs and audit events ("gateway", "microscope-1").
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// Services a `work` scope is limited to; empty means every service.
    pub services: Vec<String>,
}

impl Principal {
    /// The caller when authentication is switched off: may do everything.
    pub fn anonymous() -> Self {
        Self {
            token_id: "anonymous".to_owned(),
            name: "anonymous".to_owned(),
            scopes: BTreeSet::from([Scope::Admin]),
            services: Vec::new(),
        }
    }

    /// Whether this caller may use `scope`. `service` names the service a
    /// `work` call acts on; `None` checks the scope alone (what the gRPC layer
    /// can see from a method path) — a handler acting on one service's jobs
    /// checks again with `Some(name)`.
    pub fn allows(&self, scope: Scope, service: Option<&str>) -> bool {
        if self.scopes.contains(&Scope::Admin) {
            return true;
        }
        match scope {
            Scope::Admin => false,
            Scope::Read => !self.scopes.is_empty(),
            Scope::Submit => self.scopes.contains(&Scope::Submit),
            Scope::Work => {
                self.scopes.contains(&Scope::Work)
                    && match service {
                        None => true,
                        Some(name) => self.services.is_empty() || self.services.iter().any(|s| s == name),
                    }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &[Scope], services: &[&str]) -> Principal {
        Principal {
            token_id: "tok_test".into(),
            name: "test".into(),
            scopes: scopes.iter().copied().collect(),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn admin_implies_everything() {
        let admin = principal(&[Scope::Admin], &[]);
        for scope in Scope::ALL {
            assert!(admin.allows(scope, None));
            assert!(admin.allows(scope, Some("any")));
        }
        assert!(Principal::anonymous().allows(Scope::Work, Some("x")));
    }

    #[test]
    fn submit_and_work_imply_read_only() {
        for scope in [Scope::Submit, Scope::Work] {
            let p = principal(&[scope], &[]);
            assert!(p.allows(Scope::Read, None));
            assert!(p.allows(scope, None));
            assert!(!p.allows(Scope::Admin, None));
        }
        let reader = principal(&[Scope::Read], &[]);
        assert!(reader.allows(Scope::Read, None));
        assert!(!reader.allows(Scope::Submit, None));
        assert!(!reader.allows(Scope::Work, None));
        assert!(!principal(&[Scope::Submit], &[]).allows(Scope::Work, None));
        assert!(!principal(&[Scope::Work], &[]).allows(Scope::Submit, None));
        assert!(!principal(&[], &[]).allows(Scope::Read, None));
    }

    #[test]
    fn work_limited_to_services() {
        let worker = principal(&[Scope::Work], &["microscope-1"]);
        assert!(worker.allows(Scope::Work, None));
        assert!(worker.allows(Scope::Work, Some("microscope-1")));
        assert!(!worker.allows(Scope::Work, Some("microscope-2")));
        assert!(principal(&[Scope::Work], &[]).allows(Scope::Work, Some("microscope-2")));
    }

    #[test]
    fn scopes_parse_from_their_names() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("root".parse::<Scope>().is_err());
        assert_eq!(serde_json::to_string(&Scope::Work).unwrap(), "\"work\"");
    }
}
