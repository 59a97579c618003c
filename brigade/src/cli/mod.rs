//! The `brigade` command line: one file per resource, each a clap subcommand
//! that calls the gRPC services and prints a table (people) or JSON (scripts).

mod client;
mod jobs;
mod output;
mod recipe_types;
mod recipes;
mod services;
mod token;

use std::time::Duration;

pub use client::Connection;

/// The resource commands (everything but `serve`), each with the flags that
/// say where Brigade is.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Services (job types): list, inspect, create, pause and resume.
    Services {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: services::ServicesCommand,
    },
    /// Jobs: list, inspect, submit, cancel, retry and watch.
    Jobs {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// Recipe types: list, inspect, validate, create and update.
    #[command(name = "recipe-types")]
    RecipeTypes {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: recipe_types::RecipeTypesCommand,
    },
    /// Recipes: run a recipe type, inspect, watch and cancel.
    Recipes {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: recipes::RecipesCommand,
    },
    /// API tokens: create (the secret is shown once), list and revoke.
    Token {
        #[command(flatten)]
        connection: Connection,
        #[command(subcommand)]
        command: token::TokenCommand,
    },
}

/// A failed command: one line on stderr, exit status 1.
#[derive(Debug)]
pub struct CliError {
    what: String,
    message: String,
}

impl CliError {
    pub fn new(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            message: message.into(),
        }
    }

    /// A failed gRPC call: the server's message (or the code when it sent none).
    pub fn from_status(what: impl Into<String>, status: &tonic::Status) -> Self {
        let message = match status.message().trim() {
            "" => format!("{:?}", status.code()).to_lowercase(),
            m => one_line(m),
        };
        let message = match status.code() {
            tonic::Code::Unimplemented => format!("not available on this server: {message}"),
            tonic::Code::DeadlineExceeded => format!("no answer in time: {message}"),
            _ => message,
        };
        Self::new(what, message)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.what)
        } else {
            write!(f, "{}: {}", self.what, self.message)
        }
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

/// What a command ended with: success, or a finished job/recipe that failed
/// (exit 1 without an error line, the output already says why).
pub enum Outcome {
    Success,
    Failed,
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs one resource command and returns the process exit code.
pub async fn run(command: Command) -> i32 {
    let result = match command {
        Command::Services { connection, command } => services::run(command, &connection).await,
        Command::Jobs { connection, command } => jobs::run(command, &connection).await,
        Command::RecipeTypes { connection, command } => recipe_types::run(command, &connection).await,
        Command::Recipes { connection, command } => recipes::run(command, &connection).await,
        Command::Token { connection, command } => token::run(command, &connection).await,
    };
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Failed) => 1,
        Err(e) => {
            eprintln!("brigade: {e}");
            1
        }
    }
}

/// A JSON document given inline or as `@FILE` (`@-` reads standard input).
pub fn json_argument(what: &str, value: &str) -> CliResult<String> {
    let text = match value.strip_prefix('@') {
        Some("-") => std::io::read_to_string(std::io::stdin())
            .map_err(|e| CliError::new(format!("cannot read {what} from standard input"), e.to_string()))?,
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::new(format!("cannot read {what} from {path}"), e.to_string()))?,
        None => value.to_owned(),
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| CliError::new(format!("{what} is not valid JSON"), e.to_string()))?;
    Ok(text)
}

/// How long one call may take, from `--timeout`.
pub fn parse_seconds(value: &str) -> Result<Duration, String> {
    match value.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("`{value}` is not a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_becomes_one_line_with_the_server_message() {
        let e = CliError::from_status("cannot get job x", &tonic::Status::not_found("job x\nnot found"));
        assert_eq!(e.to_string(), "cannot get job x: job x not found");
        let e = CliError::from_status(
            "cannot retry job x",
            &tonic::Status::unimplemented("retry is not implemented yet"),
        );
        assert_eq!(
            e.to_string(),
            "cannot retry job x: not available on this server: retry is not implemented yet"
        );
        let e = CliError::from_status("cannot list", &tonic::Status::unavailable(""));
        assert_eq!(e.to_string(), "cannot list: unavailable");
    }

    #[test]
    fn json_arguments_are_checked_before_any_call() {
        assert_eq!(json_argument("--params", r#"{"a": 1}"#).unwrap(), r#"{"a": 1}"#);
        let e = json_argument("--params", "{nope").unwrap_err().to_string();
        assert!(e.starts_with("--params is not valid JSON: "), "{e}");
        let e = json_argument("--params", "@/nonexistent/file.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot read --params from /nonexistent/file.json: "),
            "{e}"
        );
        assert!(parse_seconds("0").is_err() && parse_seconds("1.5").is_ok());
    }
}
