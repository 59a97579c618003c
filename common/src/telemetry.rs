//! Structured logging with `tracing`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests, the all-in-one
/// binary starting three components) are no-ops.
///
/// `RUST_LOG` selects levels (default `info`); `BRIGADE_LOG_FORMAT=json` switches
/// to one JSON object per line for log collectors.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("BRIGADE_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
}
