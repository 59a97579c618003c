//! Shutdown signals.

use tokio::sync::watch;

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}

/// A cloneable trigger: every holder of a [`ShutdownWaiter`] wakes when it fires.
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

/// Waits for a [`Shutdown`] to fire.
#[derive(Clone, Debug)]
pub struct ShutdownWaiter {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    pub fn new() -> (Self, ShutdownWaiter) {
        let (tx, rx) = watch::channel(false);
        (Self { tx }, ShutdownWaiter { rx })
    }

    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }

    pub fn waiter(&self) -> ShutdownWaiter {
        ShutdownWaiter {
            rx: self.tx.subscribe(),
        }
    }
}

impl ShutdownWaiter {
    pub async fn wait(mut self) {
        let _ = self.rx.wait_for(|fired| *fired).await;
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }
}
