//! Readiness that tells the truth: a probe of what a process needs (its
//! database) runs every second; once it has failed twice in a row, and until
//! it passes again, gRPC health says NOT_SERVING and calls fail at once with
//! UNAVAILABLE instead of waiting on the pool.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use brigade_proto::ErrorReason;
use tonic::Code;
use tonic::body::Body;
use tower::{Layer, Service};

/// One check of a dependency: true when it answers in time.
pub type Probe = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// How often the probe runs, and how long one check may take.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Failed probes in a row before a process calls its dependency down: one
/// slow answer under load (a busy pool, a starved CPU) is not an outage, and
/// refusing every call for it would turn a hiccup into one.
pub const FAILURES_TO_DOWN: u32 = 2;

/// Whether to serve after a probe: `ok`, or still up while fewer than
/// [`FAILURES_TO_DOWN`] probes in a row (`failures`, this one included) failed.
pub fn ready_after(was_ready: bool, ok: bool, failures: u32) -> bool {
    ok || (was_ready && failures < FAILURES_TO_DOWN)
}

/// Whether the process can serve; shared by the probe task, health and the gate.
#[derive(Clone, Debug)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
    what: &'static str,
}

impl Readiness {
    /// Starts ready; `what` names the dependency in messages ("the job-queue database").
    pub fn new(what: &'static str) -> Self {
        Self {
            ready: Arc::new(AtomicBool::new(true)),
            what,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Records a probe result; returns true when it changed.
    pub fn set(&self, ready: bool) -> bool {
        self.ready.swap(ready, Ordering::AcqRel) != ready
    }

    /// Runs `probe` once, bounded by [`PROBE_TIMEOUT`].
    pub async fn check(probe: &Probe) -> bool {
        tokio::time::timeout(PROBE_TIMEOUT, probe()).await.unwrap_or(false)
    }

    fn unavailable(&self) -> tonic::Status {
        ErrorReason::DatabaseUnavailable.status(
            Code::Unavailable,
            format!("{} is unavailable, try again", self.what),
            &[],
        )
    }
}

/// Answers every call but health and reflection with UNAVAILABLE while the
/// process is not ready, so clients fail fast and retry elsewhere.
#[derive(Clone)]
pub struct ReadinessGateLayer {
    readiness: Option<Readiness>,
}

impl ReadinessGateLayer {
    pub fn new(readiness: Option<Readiness>) -> Self {
        Self { readiness }
    }
}

impl<S> Layer<S> for ReadinessGateLayer {
    type Service = ReadinessGate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReadinessGate {
            inner,
            readiness: self.readiness.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ReadinessGate<S> {
    inner: S,
    readiness: Option<Readiness>,
}

/// Paths that must keep answering while the process is not ready.
fn always_served(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.") || path == "/metrics"
}

impl<S, B> Service<http::Request<B>> for ReadinessGate<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let Some(readiness) = &self.readiness
            && !readiness.is_ready()
            && !always_served(request.uri().path())
        {
            let status = readiness.unavailable();
            return Box::pin(async move { Ok(status.into_http()) });
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failed_probe_is_not_an_outage() {
        assert!(ready_after(true, false, 1), "one slow probe keeps serving");
        assert!(!ready_after(true, false, FAILURES_TO_DOWN), "two in a row do not");
        assert!(!ready_after(false, false, 1), "down stays down until a probe passes");
        assert!(ready_after(false, true, 0), "one passing probe is enough to come back");
    }

    #[tokio::test]
    async fn a_probe_that_hangs_counts_as_down() {
        let hang: Probe = Arc::new(|| Box::pin(std::future::pending::<bool>()));
        let started = std::time::Instant::now();
        assert!(!Readiness::check(&hang).await);
        assert!(started.elapsed() < PROBE_TIMEOUT * 3);
        let up: Probe = Arc::new(|| Box::pin(async { true }));
        assert!(Readiness::check(&up).await);
    }

    #[test]
    fn set_reports_changes_only() {
        let r = Readiness::new("the test database");
        assert!(r.is_ready());
        assert!(!r.set(true));
        assert!(r.set(false));
        assert!(!r.is_ready());
        assert!(r.set(true));
    }

    #[test]
    fn health_and_reflection_pass_the_gate() {
        assert!(always_served("/grpc.health.v1.Health/Check"));
        assert!(always_served(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!always_served("/brigade.jobqueue.v1.JobQueue/SubmitJob"));
    }
}
