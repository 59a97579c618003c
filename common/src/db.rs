//! Choosing and opening the database: SQLite by default, PostgreSQL when
//! `DATABASE_URL` is a `postgres://` URL.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Where a service keeps its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseConfigError {
    #[error("DATABASE_URL must start with postgres://, postgresql:// or sqlite://, got scheme {0:?}")]
    UnknownScheme(String),
}

impl DatabaseTarget {
    /// Resolves the target from `DATABASE_URL` (optional) and the data directory.
    /// `file_name` names the SQLite file used when no URL is given.
    pub fn resolve(url: Option<&str>, data_dir: &Path, file_name: &str) -> Result<Self, DatabaseConfigError> {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            None => Ok(Self::Sqlite(data_dir.join(file_name))),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(Self::Postgres(u.to_owned()))
            }
            Some(u) if u.starts_with("sqlite:") => {
                let path = u.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    Ok(Self::Sqlite(data_dir.join(file_name)))
                } else {
                    Ok(Self::Sqlite(PathBuf::from(path)))
                }
            }
            Some(u) => Err(DatabaseConfigError::UnknownScheme(
                u.split(':').next().unwrap_or_default().to_owned(),
            )),
        }
    }

    /// Text safe to log: the password of a PostgreSQL URL is masked.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite://{}", p.display()),
            Self::Postgres(u) => match url_password_span(u) {
                Some((a, b)) => format!("{}***{}", &u[..a], &u[b..]),
                None => u.clone(),
            },
        }
    }
}

fn url_password_span(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let at = start + url[start..].find('@')?;
    let colon = start + url[start..at].find(':')?;
    Some((colon + 1, at))
}

/// `base`'s migrations, recorded in a table of their own: both services may
/// share one database (the all-in-one binary on PostgreSQL).
pub fn migrator(base: &'static sqlx::migrate::Migrator, table: &'static str) -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate::Migrator {
        migrations: base.migrations.clone(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    m.dangerous_set_table_name(table);
    m
}

/// Opens a SQLite pool in WAL mode, creating the file and its directory.
pub async fn open_sqlite(path: &Path, max_connections: u32) -> Result<SqlitePool, sqlx::Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: an acknowledged write survives a power cut, not only a crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
        .connect_with(options)
        .await
}

/// Opens a PostgreSQL pool.
pub async fn open_postgres(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    postgres_pool(max_connections)
        .connect_with(PgConnectOptions::from_str(url)?)
        .await
}

/// A second PostgreSQL pool whose transactions do not wait for their commit
/// to reach the disk (`synchronous_commit = off`), for writes whose loss in a
/// crash is only a retry: a claim lost that way is a lease that ended early,
/// and its job is handed out again. Every later durable commit (a
/// completion, say) carries it to disk anyway. Connects on first use.
pub fn open_postgres_relaxed(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.options([("synchronous_commit", "off")]);
    Ok(postgres_pool(max_connections).connect_lazy_with(options))
}

fn postgres_pool(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
}

/// Whether `e` says the database cannot be reached now (the pool, the
/// connection, or the server shutting down or starting up: SQLSTATE classes
/// 08 and 57) rather than anything about the request: such calls answer
/// UNAVAILABLE, to be retried.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57")),
        _ => false,
    }
}

/// A connection that has sat idle this long is pinged before it is handed
/// out; one in steady use is not.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// sqlx pings every connection it hands out by default: a round trip to the
/// database before every statement or transaction, which on a busy queue is
/// a fifth of all round trips. A connection in steady use has just proved
/// itself; one idle for a while (a restarted server, a dropped link) is
/// checked, and a failed ping makes the pool open a fresh one.
async fn ping_if_idle<C: sqlx::Connection>(
    conn: &mut C,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for >= PING_AFTER_IDLE {
        conn.ping().await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_each_scheme() {
        let dir = Path::new("/data");
        assert_eq!(
            DatabaseTarget::resolve(None, dir, "jq.db").ok(),
            Some(DatabaseTarget::Sqlite(PathBuf::from("/data/jq.db")))
        );
        assert_eq!(
            DatabaseTarget::resolve(Some("sqlite:///tmp/x.db"), dir, "jq.db").ok(),
            Some(DatabaseTarget::Sqlite(PathBuf::from("/tmp/x.db")))
        );
        assert!(matches!(
            DatabaseTarget::resolve(Some("postgres://u@h/db"), dir, "jq.db"),
            Ok(DatabaseTarget::Postgres(_))
        ));
        assert!(DatabaseTarget::resolve(Some("mysql://x"), dir, "jq.db").is_err());
    }

    #[test]
    fn only_reachability_errors_are_unavailable() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::Protocol("bad".into())));
    }

    #[test]
    fn redacts_passwords() {
        let t = DatabaseTarget::Postgres("postgres://user:secret@host:5432/db".into());
        assert_eq!(t.redacted(), "postgres://user:***@host:5432/db");
    }
}
