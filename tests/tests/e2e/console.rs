//! `/console` in a headless Chromium driven over WebDriver (Debian's
//! `chromedriver`, spoken to with plain HTTP, so no driver crate), with the
//! network off as in the `/docs` test: each page renders real data from a real
//! Brigade, the recipe graph shows its nodes and their states change while its
//! jobs are worked over REST, and a Cancel clicked in the page reaches the job.
//! A screenshot of each page is kept under `target/console-screenshots/`.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use brigade::{Settings, System, SystemConfig};
use brigade_common::auth::{Scope, TokenRecord};
use brigade_tests::{Backend, TestApp, eventually, read};
use serde_json::{Value, json};

use crate::docs::browser::chromium;
use crate::recipes::{dep, integer_props, job, n_input, rin};
use crate::recipes_rest::work_one;

const DEADLINE: Duration = Duration::from_secs(60);
/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `BRIGADE_CHROMEDRIVER`, or Debian's (`chromium-driver`, which `.ci/run`
/// installs). Missing: fails in CI, skipped loudly elsewhere.
fn chromedriver() -> Option<PathBuf> {
    let named = std::env::var_os("BRIGADE_CHROMEDRIVER").map(PathBuf::from);
    let known = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].map(PathBuf::from);
    if let Some(found) = named.into_iter().chain(known).find(|p| p.is_file()) {
        return Some(found);
    }
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !in_ci,
        "no chromedriver found (set BRIGADE_CHROMEDRIVER or `apt-get install chromium-driver`, as .ci/run does)"
    );
    eprintln!("SKIPPED: /console browser test: no chromedriver (`apt-get install chromium-driver`)");
    None
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// One WebDriver session on a chromedriver this test started (killed on drop).
struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: tokio::process::Child,
}

impl Browser {
    async fn start(chromium: &std::path::Path, driver: &std::path::Path, profile: &std::path::Path) -> Self {
        // chromedriver cannot bind port 0: take a free port from the kernel and hand it over.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let base = format!("http://127.0.0.1:{port}");
        eventually(DEADLINE, "chromedriver ready", || async {
            let status: Value = http
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (status["value"]["ready"] == true).then_some(())
        })
        .await;
        let capabilities = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-extensions", "--no-first-run", "--window-size=1000,760",
                     format!("--user-data-dir={}", profile.display()),
                     // The network is off but for the gateway on loopback.
                     "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"],
        }}}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"));
        Self {
            http,
            session: format!("{base}/session/{id}"),
            _driver: child,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver JSON");
        assert!(answer["value"]["error"].is_null(), "webdriver {path}: {answer}");
        answer["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Runs `script` (a function body) in the page and answers what it returns.
    async fn run(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Polls `script` until it returns something truthy (not null, false, 0 or ""), and answers that.
    async fn wait(&self, what: &str, script: &str) -> Value {
        eventually(DEADLINE, what, || async {
            let value = self.run(script).await;
            let falsy = value.is_null() || value == false || value == 0 || value == "";
            (!falsy).then_some(value)
        })
        .await
    }

    /// The WebDriver reference of the element `selector` names.
    async fn element(&self, selector: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": selector})),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {selector}: {found}"))
            .to_owned()
    }

    /// A real click (WebDriver's, not a script's) on the element `selector` names.
    async fn click(&self, selector: &str) {
        let id = self.element(selector).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({})))
            .await;
    }

    /// Types `text` into the field `selector` names, key by key.
    async fn type_into(&self, selector: &str, text: &str) {
        let id = self.element(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn screenshot(&self, name: &str) {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 PNG"))
            .expect("PNG");
        std::fs::write(screenshots().join(format!("{name}.png")), bytes).expect("screenshot written");
    }

    async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

/// The `data-state` of each node of the drawn graph.
const NODE_STATES: &str = "return Object.fromEntries([...document.querySelectorAll('#graph g.node')].map(g => [g.dataset.node, g.dataset.state]));";

#[tokio::test]
async fn the_console_shows_real_data_draws_recipes_live_and_cancels_a_job() {
    let (Some(browser), Some(driver)) = (chromium(), chromedriver()) else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let adder = app
        .create_service("add", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    let measure = app
        .create_service("measure", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    // sensor: one job completed, one due in an hour, one due now, a limit of 4.
    let sensor = app
        .create_service("sensor", integer_props(&["n"]), integer_props(&["n"]))
        .await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for body in [
        json!({"parameters": {"n": 1}}),
        json!({"parameters": {"n": 2}}),
        json!({"parameters": {"n": 3}, "run_at": later}),
    ] {
        let (status, submitted) = app.post(&format!("/services/{sensor}/jobs"), &body).await;
        assert_eq!(status, 201, "{submitted}");
    }
    assert!(work_one(&app, &sensor).await, "one sensor job worked");
    let (status, limited) = app
        .patch(&format!("/services/{sensor}"), &json!({"max_concurrency": 4}))
        .await;
    assert_eq!(status, 200, "{limited}");
    let mut standalone = Vec::new();
    for n in 0..3 {
        let (status, submitted) = app
            .post(&format!("/services/{measure}/jobs"), &json!({"parameters": {"n": n}}))
            .await;
        assert_eq!(status, 201, "{submitted}");
        standalone.push(submitted["data"]["id"].as_str().expect("job id").to_owned());
    }
    let recipe = crate::recipes_rest::queue_chain_of_two(&app, "Add Twice", 1).await;

    // The page is open, and allows only its own origin.
    let response = app.http.get(app.url("/console")).send().await.expect("GET /console");
    assert_eq!(response.status(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .expect("policy")
        .to_owned();
    assert!(
        policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"),
        "{policy}"
    );

    let profile = app.db.dir.path().join("chromium-profile");
    let page = Browser::start(&browser, &driver, &profile).await;

    // Services: both, with measure's three queued jobs counted.
    page.goto(&app.url("/console#/services")).await;
    let registered = page
        .wait(
            "the services list",
            &format!("const c = document.querySelector('tr.service[data-id=\"{measure}\"] td[data-status=REGISTERED]'); return c && c.textContent;"),
        )
        .await;
    assert_eq!(registered, "3");
    let names = page
        .run("return [...document.querySelectorAll('tr.service td:first-child a')].map(a => a.textContent);")
        .await;
    assert_eq!(names, json!(["add", "measure", "sensor"]));
    // sensor's numbers come from its stats: by status, due later, throughput, limit.
    let row = page
        .run(&format!("const r = document.querySelector('tr.service[data-id=\"{sensor}\"]'); return Object.fromEntries([...r.querySelectorAll('td[data-status], td[data-stat]')].map(c => [c.dataset.status || c.dataset.stat, c.textContent]));"))
        .await;
    assert_eq!(row["REGISTERED"], "2", "{row}");
    assert_eq!(row["COMPLETED"], "1", "{row}");
    assert_eq!(row["due_later"], "1", "{row}");
    assert_eq!(row["done_minute"], "1", "{row}");
    assert_eq!(row["done_hour"], "1", "{row}");
    assert!(row["claims"].as_str().is_some_and(|c| c.contains("limit 4")), "{row}");
    assert!(row["check_in"].as_str().is_some_and(|c| c.contains("s ago")), "{row}");
    page.screenshot("services").await;

    // Every job, then one service's through the filter form, then a bulk cancel there.
    eventually(DEADLINE, "the recipe's first job queued", || async {
        let (_, all) = app.get("/jobs").await;
        (all["data"].as_array().map(Vec::len) == Some(7)).then_some(())
    })
    .await;
    page.goto(&app.url("/console#/jobs")).await;
    page.wait(
        "the jobs list",
        "return document.querySelectorAll('tr.job').length === 7;",
    )
    .await;
    page.screenshot("jobs").await;
    page.run(&format!("document.getElementById('jobs-service').value = '{sensor}'; document.getElementById('jobs-status').value = 'REGISTERED';"))
        .await;
    page.click("#jobs-apply").await;
    page.wait(
        "sensor's queued jobs",
        &format!("return location.hash.includes('service_id={sensor}') && document.querySelectorAll('tr.job').length === 2 && document.getElementById('bulk-cancel');"),
    )
    .await;
    page.click("#bulk-cancel").await;
    eventually(DEADLINE, "the bulk cancel reached sensor's jobs", || async {
        let (_, stats) = app.get(&format!("/services/{sensor}/stats")).await;
        (stats["data"]["counts"]["ERROR"] == 2 && stats["data"]["counts"]["REGISTERED"] == 0).then_some(())
    })
    .await;
    page.wait(
        "the page shows no queued sensor job",
        "return document.getElementById('jobs-empty') !== null;",
    )
    .await;
    // A submitted-time range: nothing submitted in the year 2999, and the field shows the range.
    page.goto(&app.url("/console#/jobs?since=2999-01-01T00:00:00.000Z"))
        .await;
    page.wait(
        "an empty time range",
        "const f = document.getElementById('jobs-since'); return f && f.value.startsWith('2999-01-01') && document.getElementById('jobs-empty') !== null;",
    )
    .await;

    // A service's jobs, then filtered by status.
    page.goto(&app.url(&format!("/console#/services/{measure}"))).await;
    let rows = page
        .wait(
            "the service's jobs",
            "const r = document.querySelectorAll('tr.job'); return r.length === 3 && [...r].map(t => t.dataset.id);",
        )
        .await;
    assert_eq!(rows, json!(standalone));
    page.screenshot("service").await;
    // Pause from the page reaches the service; Resume undoes it.
    page.click("#pause").await;
    eventually(DEADLINE, "the click paused the service", || async {
        let (_, service) = app.get(&format!("/services/{measure}")).await;
        (service["data"]["paused"] == true).then_some(())
    })
    .await;
    page.wait(
        "the Resume button",
        "const b = document.getElementById('pause'); return b && b.textContent === 'Resume';",
    )
    .await;
    page.click("#pause").await;
    eventually(DEADLINE, "the click resumed the service", || async {
        let (_, service) = app.get(&format!("/services/{measure}")).await;
        (service["data"]["paused"] == false).then_some(())
    })
    .await;
    page.wait(
        "the Pause button",
        "const b = document.getElementById('pause'); return b && b.textContent === 'Pause';",
    )
    .await;
    // The status filter: only the jobs of that status.
    page.goto(&app.url(&format!("/console#/services/{measure}?status=COMPLETED")))
        .await;
    page.wait(
        "the filtered, empty list",
        "const f = document.getElementById('status-filter'); return f && f.value === 'COMPLETED' && document.querySelectorAll('tr.job').length === 0;",
    )
    .await;

    // A job's page; Cancel clicked there reaches the job.
    let target = &standalone[1];
    page.goto(&app.url(&format!("/console#/jobs/{target}"))).await;
    page.wait(
        "the job page",
        "const s = document.getElementById('job-status'); return s && s.textContent.includes('REGISTERED') && document.body.textContent.includes('\"n\": 1');",
    )
    .await;
    page.screenshot("job").await;
    page.click("#cancel").await;
    eventually(DEADLINE, "the click cancelled the job", || async {
        let (_, job) = app.get(&format!("/jobs/{target}")).await;
        (job["data"]["cancelled"] == true && job["data"]["status"] == "ERROR").then_some(())
    })
    .await;
    page.wait(
        "the page shows the cancel",
        "const s = document.getElementById('job-status'); return s && s.textContent.includes('ERROR') && s.textContent.includes('cancelled');",
    )
    .await;
    let (_, other) = app.get(&format!("/jobs/{}", standalone[0])).await;
    assert_eq!(
        other["data"]["status"], "REGISTERED",
        "only the clicked job was cancelled"
    );

    // A finished job's page shows its attempt and results.
    let (_, done) = app.get(&format!("/jobs?service_id={sensor}&status=COMPLETED")).await;
    let done = done["data"][0]["id"]
        .as_str()
        .expect("sensor's completed job")
        .to_owned();
    page.goto(&app.url(&format!("/console#/jobs/{done}"))).await;
    page.wait(
        "the completed job's attempt",
        "const s = document.getElementById('job-status'); return s && s.textContent.includes('COMPLETED') && [...document.querySelectorAll('td')].some(c => c.textContent === 'rest');",
    )
    .await;
    page.screenshot("job-completed").await;

    // Recipe types, and one drawn as a graph with its nodes and labelled connections.
    page.goto(&app.url("/console#/recipe-types")).await;
    page.wait(
        "the recipe types list",
        "return [...document.querySelectorAll('tr.recipe-type')].some(r => r.textContent.includes('Add Twice'));",
    )
    .await;
    page.goto(&app.url("/console#/recipe-types/add-twice")).await;
    let kinds = page
        .wait(
            "the recipe type graph",
            "const g = [...document.querySelectorAll('#graph g.node')]; return g.length && Object.fromEntries(g.map(n => [n.dataset.node, n.dataset.kind]));",
        )
        .await;
    assert_eq!(kinds, json!({"input": "input", "a": "job", "b": "job"}));
    let edges = page
        .run("return [...document.querySelectorAll('#graph path.edge')].map(p => p.dataset.from + '>' + p.dataset.to);")
        .await;
    assert_eq!(edges, json!(["input>a", "a>b"]));
    let labels = page
        .run("return [...document.querySelectorAll('#graph text.label')].map(t => t.textContent);")
        .await;
    assert!(labels.as_array().expect("labels").contains(&json!("n→n")), "{labels}");
    page.screenshot("recipe-type").await;

    // Two revisions of another type, the newer drawn with what changed marked.
    let rev1 = json!({"version": "7", "input": n_input(), "nodes": {
        "a": job("add", json!([]), json!({"n": rin("n")})),
        "b": job("add", json!([{"name": "a"}]), json!({"n": dep("a", "n")})),
        "d": job("add", json!([{"name": "a"}]), json!({"n": rin("n")})),
    }});
    let rev2 = json!({"version": "7", "input": n_input(), "nodes": {
        "a": job("add", json!([]), json!({"n": rin("n")})),
        "b": job("add", json!([{"name": "a"}]), json!({"n": rin("n")})),
        "c": job("add", json!([{"name": "b"}]), json!({"n": dep("b", "n")})),
    }});
    let (status, diffed) = app
        .post("/v6/recipe-types/", &json!({"title": "Diffed", "definition": rev1}))
        .await;
    assert_eq!(status, 201, "{diffed}");
    let (status, edited) = app
        .patch("/v6/recipe-types/diffed/", &json!({"definition": rev2}))
        .await;
    assert_eq!(status, 200, "{edited}");
    page.goto(&app.url("/console#/recipe-types/diffed")).await;
    page.wait(
        "both revisions listed",
        "return document.querySelectorAll('tr.revision').length === 2 && document.querySelector('#graph g.node[data-node=c]');",
    )
    .await;
    // Picked in the page: compare the shown revision 2 with revision 1.
    page.run("const s = document.getElementById('rev-diff'); s.value = '1'; s.dispatchEvent(new Event('change'));")
        .await;
    let marks = page
        .wait(
            "the diff drawn",
            "const g = [...document.querySelectorAll('#graph g.node')]; return document.getElementById('diff-legend') && g.length === 5 && Object.fromEntries(g.map(n => [n.dataset.node, n.dataset.diff]));",
        )
        .await;
    assert_eq!(
        marks,
        json!({"input": "", "a": "", "b": "changed", "c": "added", "d": "removed"})
    );
    let edge_marks = page
        .run("return Object.fromEntries([...document.querySelectorAll('#graph path.edge')].map(p => [p.dataset.from + '>' + p.dataset.to, p.dataset.diff]));")
        .await;
    assert_eq!(
        edge_marks,
        json!({"input>a": "", "input>b": "added", "a>b": "changed", "b>c": "added", "input>d": "removed", "a>d": "removed"})
    );
    page.screenshot("recipe-type-diff").await;

    // Recipes, and one whose node states change on the page while its jobs are worked.
    page.goto(&app.url("/console#/recipes")).await;
    page.wait(
        "the recipes list",
        &format!(
            "return [...document.querySelectorAll('tr.recipe a')].some(a => a.textContent === 'recipe {recipe}');"
        ),
    )
    .await;
    page.goto(&app.url(&format!("/console#/recipes/{recipe}"))).await;
    let before = page
        .wait(
            "the recipe graph with a's job",
            &format!("const s = (function() {{ {NODE_STATES} }})(); return s.a && s.a !== 'COMPLETED' && s;"),
        )
        .await;
    assert_ne!(before["b"], "COMPLETED", "{before}");
    page.screenshot("recipe-running").await;
    let job_links = page
        .run("return [...document.querySelectorAll('#graph a.job-link')].map(a => a.getAttribute('href'));")
        .await;
    assert!(
        job_links
            .as_array()
            .is_some_and(|l| l.iter().any(|h| h.as_str().is_some_and(|h| h.starts_with("#/jobs/")))),
        "{job_links}"
    );
    // Work a only: the page (not reloaded) shows a COMPLETED while b is not yet.
    eventually(DEADLINE, "a's job worked", || async {
        work_one(&app, &adder).await.then_some(())
    })
    .await;
    let middle = page
        .wait(
            "a completed on the page",
            &format!("const s = (function() {{ {NODE_STATES} }})(); return s.a === 'COMPLETED' && s;"),
        )
        .await;
    assert_ne!(middle["b"], "COMPLETED", "{middle}");
    let mode = page.run("return document.getElementById('live').dataset.mode;").await;
    assert_eq!(mode, "events", "the change came over the event stream, not a poll");
    eventually(DEADLINE, "b's job worked", || async {
        work_one(&app, &adder).await;
        let (_, details) = app.get(&format!("/v6/recipes/{recipe}/")).await;
        details["completed"].is_string().then_some(())
    })
    .await;
    page.wait(
        "the recipe completed on the page",
        &format!("const s = (function() {{ {NODE_STATES} }})(); return s.a === 'COMPLETED' && s.b === 'COMPLETED' && document.getElementById('recipe-summary').textContent.includes('COMPLETED');"),
    )
    .await;
    page.screenshot("recipe-completed").await;

    // Reprocess clicked on the page queues a new recipe and opens it; Cancel there cancels it.
    page.click("#reprocess-recipe").await;
    let fresh = page
        .wait(
            "the reprocessed recipe's page",
            &format!("const m = location.hash.match(/^#\\/recipes\\/(\\d+)$/); return m && m[1] !== '{recipe}' && document.getElementById('cancel-recipe') && Number(m[1]);"),
        )
        .await;
    let fresh = fresh.as_i64().expect("new recipe id");
    let (_, old) = app.get(&format!("/v6/recipes/{recipe}/")).await;
    assert_eq!(old["is_superseded"], true, "{old}");
    assert_eq!(old["superseded_by_recipe"]["id"], fresh, "{old}");
    page.wait(
        "the new recipe drawn",
        &format!("return document.querySelector('h1') && document.querySelector('h1').textContent.startsWith('Recipe {fresh} ');"),
    )
    .await;
    page.click("#cancel-recipe").await;
    eventually(DEADLINE, "the click cancelled the recipe", || async {
        let (_, details) = app.get(&format!("/v6/recipes/{fresh}/")).await;
        (details["status"] == "CANCELED").then_some(())
    })
    .await;
    page.wait(
        "the page shows the cancel",
        "const s = document.getElementById('recipe-summary'); return s && s.textContent.includes('CANCELED');",
    )
    .await;
    page.screenshot("recipe-canceled").await;

    // The console called nothing it could not reach and reported no error.
    let error = page
        .run("const e = document.getElementById('error'); return e.hidden ? null : e.textContent;")
        .await;
    assert_eq!(error, Value::Null);
    page.quit().await;
}

/// A token of `scopes`, written into a tokens file at `path` beside the others.
fn token(entries: &mut Vec<Value>, name: &str, scopes: &[Scope]) -> String {
    let (token, _) = TokenRecord::create(name, scopes.iter().copied().collect(), Vec::new()).expect("random token");
    let token = token.expose().to_owned();
    entries.push(json!({"name": name, "token": token, "scopes": scopes}));
    token
}

/// With tokens on, the console asks for one, keeps it in the tab's
/// `sessionStorage` (never in the address), and sends it: a read token shows
/// the data, and a Cancel it has no scope for is refused and changes nothing.
#[tokio::test]
async fn with_authentication_on_the_console_signs_in_with_a_token() {
    let (Some(browser), Some(driver)) = (chromium(), chromedriver()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let mut entries = Vec::new();
    let admin = token(&mut entries, "operator", &[Scope::Admin]);
    let reader = token(&mut entries, "viewer", &[Scope::Read]);
    let tokens = dir.path().join("tokens.json");
    std::fs::write(&tokens, serde_json::to_vec(&json!({"tokens": entries})).expect("json")).expect("tokens file");
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let mut settings = Settings::from(SystemConfig {
        gateway_addr: any,
        job_queue_addr: any,
        recipe_types_addr: any,
        database_url: None,
        data_dir: dir.path().to_path_buf(),
    });
    settings.auth.tokens_file = Some(tokens);
    let system = System::start(settings).await.expect("system starts");
    let base = format!("http://{}", system.gateway.addr);
    let http = reqwest::Client::new();
    let (status, created) = read(
        http.post(format!("{base}/services"))
            .bearer_auth(&admin)
            .json(&json!({"name": "guarded", "description": "behind a token",
                          "job_registration_schema": integer_props(&["n"]), "job_result_schema": integer_props(&["n"])}))
            .send()
            .await
            .expect("POST /services"),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let service = created["data"]["id"].as_str().expect("id").to_owned();
    let (status, submitted) = read(
        http.post(format!("{base}/services/{service}/jobs"))
            .bearer_auth(&admin)
            .json(&json!({"parameters": {"n": 5}}))
            .send()
            .await
            .expect("POST job"),
    )
    .await;
    assert_eq!(status, 201, "{submitted}");
    let job_id = submitted["data"]["id"].as_str().expect("job id").to_owned();

    let page = Browser::start(&browser, &driver, &dir.path().join("chromium-profile")).await;
    page.goto(&format!("{base}/console#/services")).await;
    page.wait(
        "the sign-in form",
        "return !document.getElementById('signin').hidden && document.getElementById('error').textContent.includes('token');",
    )
    .await;
    page.screenshot("signin").await;
    page.type_into("#token", &reader).await;
    page.click("#signin button").await;
    page.wait(
        "the services list once signed in",
        &format!("return document.querySelector('tr.service[data-id=\"{service}\"]') !== null;"),
    )
    .await;
    let kept = page
        .run("return [sessionStorage.getItem('brigade-token'), localStorage.length, location.href];")
        .await;
    assert_eq!(kept[0], reader.as_str(), "the token is kept in sessionStorage");
    assert_eq!(kept[1], 0, "nothing in localStorage");
    assert!(
        !kept[2].as_str().expect("href").contains(&reader),
        "the token is not in the address"
    );

    // A read token cannot cancel: the page says so and the job stays queued.
    page.goto(&format!("{base}/console#/jobs/{job_id}")).await;
    page.wait(
        "the job page",
        "const s = document.getElementById('job-status'); return s && s.textContent.includes('REGISTERED');",
    )
    .await;
    page.click("#cancel").await;
    page.wait(
        "the refusal",
        "const e = document.getElementById('error'); return !e.hidden && e.textContent.includes('403');",
    )
    .await;
    let (_, job) = read(
        http.get(format!("{base}/jobs/{job_id}"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("GET job"),
    )
    .await;
    assert_eq!(job["data"]["status"], "REGISTERED", "{job}");
    page.quit().await;
}
