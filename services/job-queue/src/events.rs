//! Job change events for the watch streams.
//!
//! Every replica publishes the jobs it changes to its own subscribers at once.
//! On PostgreSQL each change is also announced with `NOTIFY`, and every
//! replica's listener re-publishes changes made by the others, so a watcher
//! connected to any replica sees every job. A changed service is announced on
//! a second channel, from inside the transaction that changed it, and every
//! replica drops it from its [`ServiceCache`].

use std::sync::Arc;
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
    /// notifier and the listener; both stop with `shutdown`.
    pub fn shared(pool: PgPool, repo: Arc<dyn Repository>, shutdown: ShutdownWaiter) -> Self {
        let (remote_tx, remote_rx) = mpsc::unbounded_channel();
        let mut events = Self::local();
        events.remote = Some(remote_tx);
        tokio::spawn(notify_loop(
            pool.clone(),
            events.origin.clone(),
            remote_rx,
            shutdown.clone(),
        ));
        tokio::spawn(listen_loop(pool, events.clone_local(), repo, shutdown));
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

/// Sends our changed job ids as `origin:id,id,…`, batching what is waiting.
async fn notify_loop(
    pool: PgPool,
    origin: Arc<str>,
    mut ids: mpsc::UnboundedReceiver<String>,
    shutdown: ShutdownWaiter,
) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        let first = tokio::select! {
            () = &mut stop => return,
            id = ids.recv() => match id { Some(id) => id, None => return },
        };
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

/// Re-publishes other replicas' changes; reconnects after errors.
async fn listen_loop(pool: PgPool, events: Events, repo: Arc<dyn Repository>, shutdown: ShutdownWaiter) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen_all([NOTIFY_CHANNEL, SERVICES_CHANNEL]).await {
                Ok(()) => {
                    // Whatever changed while nobody listened is unknown: read every service again.
                    events.services.clear();
                    l
                }
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "notification listener cannot connect; retrying");
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
