//! `/docs` in a headless Chromium with the network off.

use std::time::Duration;

use brigade_tests::{Backend, TestApp};

/// A Chromium to drive: `BRIGADE_CHROMIUM`, or Debian's `chromium` (`.ci/run`
/// installs it). Missing: the test fails in CI and is skipped, loudly, elsewhere.
pub(crate) fn chromium() -> Option<std::path::PathBuf> {
    let named = std::env::var_os("BRIGADE_CHROMIUM").map(std::path::PathBuf::from);
    let known = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(std::path::PathBuf::from);
    if let Some(found) = named.into_iter().chain(known).find(|p| p.is_file()) {
        return Some(found);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !in_ci,
        "no Chromium found (set BRIGADE_CHROMIUM or `apt-get install chromium`, as .ci/run does)"
    );
    eprintln!("SKIPPED: /docs browser test: no Chromium found (set BRIGADE_CHROMIUM or `apt-get install chromium`)");
    None
}

/// `/docs` renders every operation, with the README's examples and without
/// the aliases, in a headless Chromium whose network is off: every request
/// but those to the gateway on loopback goes to a proxy on port 9, which
/// refuses, so the page works only if everything it needs is embedded.
#[tokio::test]
async fn docs_renders_the_operations_and_examples_offline_in_chromium() {
    let Some(browser) = chromium() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let profile = app.db.dir.path().join("chromium-profile");
    let mut command = tokio::process::Command::new(&browser);
    command
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--disable-dev-shm-usage")
        .arg("--disable-extensions")
        .arg("--no-first-run")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--proxy-server=127.0.0.1:9")
        .arg("--proxy-bypass-list=127.0.0.1")
        .arg("--virtual-time-budget=20000")
        .arg("--dump-dom")
        .arg(app.url("/docs"));
    let output = brigade_tests::output_within(&mut command, Duration::from_secs(120), "chromium").await;
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && !dom.is_empty(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // Redoc replaced the server's plain list with its own rendering.
    assert!(
        !dom.contains("id=\"fallback\""),
        "Redoc did not render: {}",
        &dom[..dom.len().min(2000)]
    );
    let (_, document) = app.get("/openapi.json").await;
    let mut operations = 0;
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().into_iter().flat_map(|ops| ops.values()) {
            let Some(id) = operation["operationId"].as_str() else {
                continue;
            };
            let rendered = dom.contains(&format!("/operation/{id}\""));
            if operation.get("x-alias-of").is_some() {
                assert!(!rendered, "the alias {id} is listed as its own entry");
            } else {
                assert!(rendered, "{id} is not rendered");
                operations += 1;
            }
        }
    }
    assert!(operations >= 40, "only {operations} operations");
    assert!(!dom.contains("Scale-v6-aliases"), "the alias tag is shown");
    for shown in [
        "Request samples",
        "Response samples",
        "adds two integers",
        "instrument busy",
        "add-thrice",
        "x-brigade-new-revision",
    ] {
        assert!(
            dom.to_lowercase().contains(&shown.to_lowercase()),
            "{shown:?} is not on /docs"
        );
    }
}
