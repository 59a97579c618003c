//! Cooperative cancellation of a running job: the worker flips the job's
//! [`Cancellation`] when the job is cancelled on the server (heard through the
//! queue watch or a heartbeat answer), and the handler reads it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

tokio::task_local! {
    static CURRENT: Cancellation;
}

/// Whether the job a handler runs was cancelled, and why. Cheap to clone;
/// every clone sees the same state.
#[derive(Clone, Debug, Default)]
pub struct Cancellation {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    reason: Mutex<Option<String>>,
    notify: Notify,
}

impl Cancellation {
    /// True once the job was cancelled: the handler should stop its work.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// The reason given with the cancellation, once cancelled.
    pub fn reason(&self) -> Option<String> {
        self.inner.reason.lock().ok().and_then(|r| r.clone())
    }

    /// Resolves when the job is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn cancel(&self, reason: &str) {
        if let Ok(mut slot) = self.inner.reason.lock()
            && slot.is_none()
        {
            *slot = Some(reason.to_owned());
        }
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Runs `future` with `self` as the [`cancellation`] it sees.
    pub(crate) async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }
}

/// The cancellation of the job the calling handler runs; outside a worker's
/// handler, one that is never cancelled.
pub fn cancellation() -> Cancellation {
    CURRENT.try_with(Clone::clone).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn handlers_see_their_own_cancellation() {
        let token = Cancellation::default();
        let seen = token.clone().scope(async { cancellation() }).await;
        assert!(!seen.is_cancelled());
        let waiting = tokio::spawn({
            let seen = seen.clone();
            async move { seen.cancelled().await }
        });
        token.cancel("stop");
        waiting.await.expect("woken");
        assert!(seen.is_cancelled());
        assert_eq!(seen.reason().as_deref(), Some("stop"));
        assert!(!cancellation().is_cancelled(), "outside a handler nothing is cancelled");
    }
}
