//! Job change events for the watch streams.
//!
//! Every replica publishes the jobs it changes to its own subscribers at once.
//! On PostgreSQL each change is also announced with `NOTIFY` while another
//! replica listens, and every replica's listener re-publishes changes made by
//! the others, so a watcher connected to any replica sees every job. A changed
//! service is announced on a second channel, from inside the transaction that
//! changed it, and every replica drops it from its [`ServiceCache`].
//!
//! A replica alone on its database announces no job changes: a `NOTIFY` per
//! claim or completion cost the worker protocol several per cent of its
//! throughput for nobody to hear. Each listener's connection is named
//! ([`LISTENER_NAME`]`:origin`), so a replica sees the others in
//! `pg_stat_activity` (checked every [`PEERS_CHECK`]); a replica that starts
//! listening says so at once on the jobs channel, and a replica that hears
//! another one announces again from then on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use brigade_common::shutdown::ShutdownWaiter;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, mpsc};

use crate::cache::ServiceCache;
use crate::domain::{Job, JobId, ServiceId};
use crate::repository::Repository;

/// Capacity per subscriber; a watcher that falls this far behind re-reads the queue.
const CHANNEL_CAPACITY: usize = 4096;
const NOTIFY_CHANNEL: &str = "brigade_jobs";
/// Payload: the id of a service changed in a committed transaction.
pub const SERVICES_CHANNEL: &str = "brigade_services";
/// PostgreSQL's NOTIFY payload limit is 8000 bytes; stay well below it.
const MAX_PAYLOAD: usize = 7000;
/// `application_name` of a replica's listening connection, before `:origin`.
const LISTENER_NAME: &str = "brigade-job-queue-listener";
/// The `application_name` of the listening connection of replica `origin`.
fn listener_name(origin: &str) -> String {
    format!("{LISTENER_NAME}:{origin}")
}

/// How often a replica looks for other replicas' listeners.
const PEERS_CHECK: Duration = Duration::from_secs(2);
/// How long start-up waits for the listener before serving without it.
const LISTENER_START: Duration = Duration::from_secs(5);

/// Whether another replica listens, as last seen.
struct Peers {
    listening: AtomicBool,
    /// Counts notifications heard from other replicas, so a check that
    /// started before one arrived does not undo what it told.
    heard: AtomicU64,
}

impl Peers {
    fn heard_one(&self) {
        self.heard.fetch_add(1, Ordering::SeqCst);
        self.listening.store(true, Ordering::SeqCst);
    }
}

#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<Job>,
    origin: Arc<str>,
    remote: Option<mpsc::UnboundedSender<String>>,
    services: Arc<ServiceCache>,
}

impl Events {
    /// Events seen by this replica only (SQLite, a single process).
    pub fn local() -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            tx,
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
            remote: None,
            services: Arc::default(),
        }
    }

    /// Events shared by every replica on one PostgreSQL database. Spawns the
    /// notifier, the listener and the look-out for other replicas (all stop
    /// with `shutdown`), and returns once the listener listens (or after
    /// [`LISTENER_START`], retrying behind).
    pub async fn shared(pool: PgPool, repo: Arc<dyn Repository>, shutdown: ShutdownWaiter) -> Self {
        let (remote_tx, remote_rx) = mpsc::unbounded_channel();
        let mut events = Self::local();
        events.remote = Some(remote_tx);
        // Until the first look, assume someone listens.
        let peers = Arc::new(Peers {
            listening: AtomicBool::new(true),
            heard: AtomicU64::new(0),
        });
        tokio::spawn(notify_loop(
            pool.clone(),
            events.origin.clone(),
            remote_rx,
            peers.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(peers_loop(
            pool.clone(),
            events.origin.clone(),
            peers.clone(),
            shutdown.clone(),
        ));
        let (listening, listens) = tokio::sync::oneshot::channel();
        tokio::spawn(listen_loop(
            pool,
            events.clone_local(),
            repo,
            peers,
            listening,
            shutdown,
        ));
        if tokio::time::timeout(LISTENER_START, listens).await.is_err() {
            tracing::warn!("the notification listener is not listening yet; serving without it");
        }
        events
    }

    fn clone_local(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            origin: self.origin.clone(),
            remote: None,
            services: self.services.clone(),
        }
    }

    pub fn publish(&self, job: &Job) {
        let _ = self.tx.send(job.clone());
        if let Some(remote) = &self.remote {
            let _ = remote.send(job.id.to_string());
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Job> {
        self.tx.subscribe()
    }

    /// This process's services, kept fresh by this replica's writes and the others' notifications.
    pub fn services(&self) -> &ServiceCache {
        &self.services
    }
}

impl Default for Events {
    fn default() -> Self {
        Self::local()
    }
}

/// Sends our changed job ids as `origin:id,id,…`, batching what is waiting,
/// while another replica listens.
async fn notify_loop(
    pool: PgPool,
    origin: Arc<str>,
    mut ids: mpsc::UnboundedReceiver<String>,
    peers: Arc<Peers>,
    shutdown: ShutdownWaiter,
) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        let first = tokio::select! {
            () = &mut stop => return,
            id = ids.recv() => match id { Some(id) => id, None => return },
        };
        if !peers.listening.load(Ordering::SeqCst) {
            while ids.try_recv().is_ok() {}
            continue;
        }
        let mut payload = format!("{origin}:{first}");
        while payload.len() < MAX_PAYLOAD {
            match ids.try_recv() {
                Ok(id) => {
                    payload.push(',');
                    payload.push_str(&id);
                }
                Err(_) => break,
            }
        }
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(&payload)
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "job change notification not sent");
        }
    }
}

/// Re-publishes other replicas' changes; reconnects after errors. Names
/// its connection and says it listens (an announcement of no jobs) each
/// time it starts listening; `listening` is told the first time.
async fn listen_loop(
    pool: PgPool,
    events: Events,
    repo: Arc<dyn Repository>,
    peers: Arc<Peers>,
    listening: tokio::sync::oneshot::Sender<()>,
    shutdown: ShutdownWaiter,
) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    let mut listening = Some(listening);
    loop {
        let mut listener = match start_listening(&pool, &events.origin).await {
            Ok(l) => {
                // Whatever changed while nobody listened is unknown: read every service again.
                events.services.clear();
                if let Some(listening) = listening.take() {
                    let _ = listening.send(());
                }
                l
            }
            Err(e) => {
                tracing::warn!(error = %e, "notification listener cannot listen; retrying");
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let notification = tokio::select! {
                () = &mut stop => return,
                n = listener.recv() => n,
            };
            let notification = match notification {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "notification listener lost its connection");
                    break;
                }
            };
            if notification.channel() == SERVICES_CHANNEL {
                if let Ok(id) = ServiceId::parse("id", notification.payload()) {
                    events.services.invalidate(&id);
                }
                continue;
            }
            let Some((origin, ids)) = notification.payload().split_once(':') else {
                continue;
            };
            if origin == &*events.origin {
                continue;
            }
            peers.heard_one();
            for id in ids.split(',').filter_map(|id| JobId::parse("id", id).ok()) {
                match repo.get_job(&id).await {
                    Ok(Some(job)) => events.publish(&job),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "changed job could not be read"),
                }
            }
        }
    }
}

/// A named listening connection, announced to the other replicas. The name
/// is in its pool's connect options, so a connection sqlx makes again after
/// losing one has it too.
async fn start_listening(pool: &PgPool, origin: &str) -> Result<PgListener, sqlx::Error> {
    let options = (*pool.connect_options())
        .clone()
        .application_name(&listener_name(origin));
    let named = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    let mut listener = PgListener::connect_with(&named).await?;
    listener.listen_all([NOTIFY_CHANNEL, SERVICES_CHANNEL]).await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(NOTIFY_CHANNEL)
        .bind(format!("{origin}:"))
        .execute(pool)
        .await?;
    Ok(listener)
}

/// Looks every [`PEERS_CHECK`] for another replica's listener.
async fn peers_loop(pool: PgPool, origin: Arc<str>, peers: Arc<Peers>, shutdown: ShutdownWaiter) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    let own = listener_name(&origin);
    let others = listener_name("%");
    loop {
        let heard = peers.heard.load(Ordering::SeqCst);
        let found: Result<bool, sqlx::Error> = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name LIKE $1 AND application_name <> $2)",
        )
        .bind(&others)
        .bind(&own)
        .fetch_one(&pool)
        .await;
        match found {
            Ok(true) => peers.listening.store(true, Ordering::SeqCst),
            // Unless another replica spoke up meanwhile.
            Ok(false) if peers.heard.load(Ordering::SeqCst) == heard => {
                peers.listening.store(false, Ordering::SeqCst);
            }
            Ok(false) => {}
            // Unknown: announce, as when another replica listens.
            Err(e) => {
                tracing::debug!(error = %e, "looking for other replicas failed");
                peers.listening.store(true, Ordering::SeqCst);
            }
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(PEERS_CHECK) => {}
        }
    }
}
