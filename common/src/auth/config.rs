//! Authentication settings and the rule that keeps an open port off the network.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{ConfigError, given, optional_path};

use super::authenticator::Authenticator;
use super::store::{ChainedStore, StaticTokenStore, TokenStore};
use super::token::BearerToken;

/// Whether authentication may be switched off on a public address.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Tokens are checked when configured; without tokens only loopback is allowed.
    #[default]
    On,
    /// No checks at all, on any address: for a lab network you trust.
    Off,
}

#[derive(clap::Args, Clone, Debug, Default)]
pub struct AuthConfig {
    /// JSON file of tokens (plaintext or SHA-256) and certificate identities.
    #[arg(
        long = "tokens-file",
        env = "BRIGADE_TOKENS_FILE",
        value_name = "BRIGADE_TOKENS_FILE",
        value_parser = optional_path
    )]
    pub tokens_file: Option<PathBuf>,
    /// `off` serves without authentication even on a non-loopback address.
    #[arg(long = "auth", env = "BRIGADE_AUTH", value_name = "BRIGADE_AUTH", value_enum, default_value_t = AuthMode::On)]
    pub mode: AuthMode,
    /// This process's own token for calls to the other services.
    #[arg(
        long = "service-token",
        env = "BRIGADE_SERVICE_TOKEN",
        value_name = "BRIGADE_SERVICE_TOKEN",
        hide_env_values = true
    )]
    pub service_token: Option<String>,
}

impl AuthConfig {
    /// Loads the tokens file. Authentication is on when a file is given and
    /// `BRIGADE_AUTH` is not `off`; otherwise every caller is anonymous.
    pub fn authenticator(&self, component: &'static str) -> Result<Authenticator, ConfigError> {
        self.authenticator_then(component, None)
    }

    /// Like [`AuthConfig::authenticator`], asking `next` (job-queue's tokens
    /// table, or a [`RemoteStore`](super::RemoteStore)) for tokens the file
    /// does not know: the file's service tokens work before any row exists.
    pub fn authenticator_then(
        &self,
        component: &'static str,
        next: Option<Arc<dyn TokenStore>>,
    ) -> Result<Authenticator, ConfigError> {
        match (given(&self.tokens_file), self.mode) {
            (Some(path), AuthMode::On) => {
                let file: Arc<dyn TokenStore> = Arc::new(StaticTokenStore::load(path).map_err(|e| ConfigError {
                    variable: "BRIGADE_TOKENS_FILE",
                    message: e.to_string(),
                })?);
                let store: Arc<dyn TokenStore> = match next {
                    Some(next) => Arc::new(ChainedStore(vec![file, next])),
                    None => file,
                };
                Ok(Authenticator::new(store, component))
            }
            _ => Ok(Authenticator::off(component)),
        }
    }

    pub fn is_enabled(&self) -> bool {
        given(&self.tokens_file).is_some() && self.mode == AuthMode::On
    }

    pub fn service_token(&self) -> Option<BearerToken> {
        self.service_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(BearerToken::new)
    }

    pub fn check_exposure(&self, addrs: &[SocketAddr]) -> Result<(), ConfigError> {
        check_exposure(
            addrs,
            given(&self.tokens_file).is_some() && self.mode == AuthMode::On,
            self.mode == AuthMode::Off,
        )
    }
}

/// Refuses a non-loopback listen address without authentication, unless it
/// was switched off explicitly (`BRIGADE_AUTH=off`). Call before binding.
pub fn check_exposure(addrs: &[SocketAddr], auth_configured: bool, auth_off: bool) -> Result<(), ConfigError> {
    if auth_configured || auth_off {
        return Ok(());
    }
    match addrs.iter().find(|addr| !addr.ip().is_loopback()) {
        None => Ok(()),
        Some(addr) => Err(ConfigError {
            variable: "BRIGADE_AUTH",
            message: format!(
                "{addr} is not a loopback address and no tokens are configured: set BRIGADE_TOKENS_FILE, \
                 listen on 127.0.0.1, or set BRIGADE_AUTH=off to serve without authentication"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn public_addresses_need_auth_or_an_explicit_off() {
        let local = addrs(&["127.0.0.1:8080", "[::1]:50051"]);
        let public = addrs(&["127.0.0.1:8080", "0.0.0.0:50051"]);
        assert!(check_exposure(&local, false, false).is_ok());
        let error = check_exposure(&public, false, false).unwrap_err();
        assert_eq!(error.variable, "BRIGADE_AUTH");
        assert!(error.to_string().contains("BRIGADE_AUTH=off"));
        assert!(error.to_string().contains("0.0.0.0:50051"));
        assert!(check_exposure(&public, true, false).is_ok());
        assert!(check_exposure(&public, false, true).is_ok());
        assert!(check_exposure(&addrs(&["[::]:1"]), false, false).is_err());
        assert!(check_exposure(&addrs(&["10.1.2.3:1"]), false, false).is_err());
    }

    #[test]
    fn config_decides_the_mode() {
        let mut config = AuthConfig::default();
        assert!(!config.authenticator("t").unwrap().is_enabled());
        assert!(config.check_exposure(&addrs(&["0.0.0.0:1"])).is_err());
        config.mode = AuthMode::Off;
        assert!(config.check_exposure(&addrs(&["0.0.0.0:1"])).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, r#"{"tokens": []}"#).unwrap();
        config = AuthConfig {
            tokens_file: Some(path),
            ..AuthConfig::default()
        };
        assert!(config.authenticator("t").unwrap().is_enabled());
        assert!(config.check_exposure(&addrs(&["0.0.0.0:1"])).is_ok());
        config.tokens_file = Some(dir.path().join("missing.json"));
        assert_eq!(config.authenticator("t").unwrap_err().variable, "BRIGADE_TOKENS_FILE");
    }

    #[test]
    fn empty_values_mean_unset() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            auth: AuthConfig,
            #[command(flatten)]
            tls: crate::tls::TlsConfig,
        }
        let cli = Cli::try_parse_from([
            "x",
            "--tokens-file",
            "",
            "--tls-cert",
            " ",
            "--tls-key",
            "",
            "--tls-ca",
            "",
        ])
        .unwrap();
        assert!(!cli.auth.is_enabled());
        assert!(!cli.auth.authenticator("t").unwrap().is_enabled());
        assert!(cli.auth.check_exposure(&addrs(&["0.0.0.0:1"])).is_err());
        assert!(cli.tls.load().unwrap().is_none());
        assert!(cli.tls.client().unwrap().is_none());
        let cli = Cli::try_parse_from(["x", "--tls-ca", "/nonexistent/ca.pem"]).unwrap();
        assert_eq!(cli.tls.client().unwrap_err().variable, "BRIGADE_TLS_CA");
    }
}
