//! The Kubernetes manifests describe processes that really start and become
//! healthy.
//!
//! The dev overlay (deploy/k8s/overlays/dev) is rendered to JSON by
//! `deploy/render-json.sh`; every Brigade container in it is started from
//! `target/<profile>/<binary named by its command>` with exactly the
//! environment the manifests give it (ConfigMap and Secret references resolved
//! from the rendered objects, nothing inherited from the test's environment),
//! except that:
//!
//! * `DATABASE_URL` points at a fresh database per service on the local
//!   PostgreSQL (`DATABASE_URL` of the test, dropped afterwards), standing in
//!   for the overlay's `postgres` StatefulSet;
//! * every declared containerPort is mapped to a free port picked at run time,
//!   standing in for the pod's own network namespace: the listen address that
//!   names a declared port (`BRIGADE_GATEWAY_ADDR=0.0.0.0:8080`) keeps its host
//!   and gets the mapped port, probes go to the mapped port of the port they
//!   name, and URLs whose host is a rendered Service name
//!   (`http://job-queue:50051`) go to 127.0.0.1 on the mapped port of the
//!   container port that Service targets, standing in for cluster DNS;
//! * paths on emptyDir volume mounts go to a temporary directory.
//!
//! Why a port map and not a network namespace (`unshare -n`): it needs no root,
//! and it still checks what the manifests promise (every probe, listen
//! address and Service targets a declared container port), while no process
//! listens on 8080, 50051 or 50052. To prove it, the test itself holds a
//! listener on 127.0.0.1 on every declared port that is free (a port already
//! taken by something else proves the same) for as long as the processes run.
//!
//! Before a Deployment's container starts, its init containers run the same
//! way (their own environment, mapped as above, sharing the pod's emptyDir
//! directories and the service's fresh database) and must exit 0. A service
//! that migrates a database (job-queue, recipe-types) must have an init
//! container running its binary with `--migrate-only`, with exactly the
//! server's environment and volume mounts, and the database must hold tables
//! once it has run; the server then migrates again at start-up (a no-op).
//!
//! Then every probe the manifests declare must answer healthy on its declared
//! port (gRPC health for `grpc` probes, HTTP GET for `httpGet` probes), the
//! gateway's /readyz must be 200 (the services found each other through the
//! manifest addresses), and each process must stop on SIGTERM within its
//! terminationGracePeriodSeconds.
//!
//! The binaries must already be built (`cargo build --bins`, as CI does first).
//! Every child process runs under a deadline, so a hung binary fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use brigade_tests::{Backend, DEADLINE, TestDatabase, output_within};
use serde_json::Value;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long processes get to pass every probe.
const PROBE_DEADLINE: Duration = Duration::from_secs(60);

/// How long an init container may take to run to completion.
const INIT_DEADLINE: Duration = Duration::from_secs(60);

/// Binaries that migrate their database at start-up and accept `--migrate-only`:
/// their Deployments must run that step first, as an init container.
const MIGRATING_BINARIES: &[&str] = &["brigade-job-queue", "brigade-recipe-types"];
const MIGRATE_FLAG: &str = "--migrate-only";

/// Variables a container may set that the binaries do not declare as flags:
/// read by the logging set-up, or reserved for OpenTelemetry.
const EXTRA_ENV: &[&str] = &["RUST_LOG", "BRIGADE_LOG_FORMAT", "OTEL_EXPORTER_OTLP_ENDPOINT"];

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// target/<profile>: this test binary lives in target/<profile>/deps.
fn binary_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps")
        .to_path_buf()
}

/// The rendered overlay, or `None` (after a loud message) when it cannot be
/// rendered here outside CI.
async fn render(overlay: &str) -> Option<Vec<Value>> {
    let script = repo_root().join("deploy/render-json.sh");
    let output = tokio::time::timeout(
        DEADLINE,
        tokio::process::Command::new("bash")
            .arg(&script)
            .arg(overlay)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{} {overlay} did not exit within {DEADLINE:?}", script.display()));
    let problem = match output {
        Ok(out) if out.status.success() => match serde_json::from_slice::<Value>(&out.stdout) {
            Ok(Value::Array(objects)) => return Some(objects),
            Ok(other) => format!("not a JSON list: {}", truncate(&other.to_string(), 200)),
            Err(e) => format!("not JSON: {e}"),
        },
        Ok(out) => format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("could not run bash: {e}"),
    };
    let message = format!(
        "cannot render the {overlay} overlay with {}: {problem}",
        script.display()
    );
    assert!(!in_ci(), "{message}");
    // Straight to stderr: the test harness captures eprintln! of passing tests.
    let _ = writeln!(std::io::stderr(), "SKIPPING deploy contract test: {message}");
    None
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn name_of(v: &Value) -> &str {
    str_at(v, &["metadata", "name"]).unwrap_or("?")
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64 Secret data") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The value of `key` in a rendered ConfigMap or Secret (`None` if either is absent).
fn lookup(objects: &[Value], kind: &str, name: &str, key: &str) -> Option<String> {
    let obj = find(objects, kind, name)?;
    if let Some(v) = obj.get("stringData").and_then(|d| d.get(key)).and_then(Value::as_str) {
        return Some(v.to_owned());
    }
    let v = obj.get("data")?.get(key)?.as_str()?;
    Some(if kind == "Secret" {
        String::from_utf8(base64_decode(v)).expect("UTF-8 Secret value")
    } else {
        v.to_owned()
    })
}

/// All keys of a rendered ConfigMap or Secret, resolved.
fn all_entries(objects: &[Value], kind: &str, name: &str) -> Option<Vec<(String, String)>> {
    let obj = find(objects, kind, name)?;
    let mut keys = BTreeSet::new();
    for field in ["data", "stringData"] {
        if let Some(map) = obj.get(field).and_then(Value::as_object) {
            keys.extend(map.keys().cloned());
        }
    }
    Some(
        keys.into_iter()
            .map(|k| {
                let v = lookup(objects, kind, name, &k).expect("key just listed");
                (k, v)
            })
            .collect(),
    )
}

/// A container's environment as Kubernetes would build it: envFrom first, then
/// env entries (later ones win). Optional references to absent keys are left out.
fn resolve_env(objects: &[Value], container: &Value, who: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for from in container["envFrom"].as_array().into_iter().flatten() {
        let prefix = from["prefix"].as_str().unwrap_or("");
        for (kind, field) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
            let Some(r) = from.get(field) else { continue };
            let name = r["name"].as_str().expect("envFrom name");
            match all_entries(objects, kind, name) {
                Some(entries) => env.extend(entries.into_iter().map(|(k, v)| (format!("{prefix}{k}"), v))),
                None => assert!(r["optional"] == true, "{who}: envFrom {kind} {name:?} is not rendered"),
            }
        }
    }
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().expect("env name").to_owned();
        if let Some(v) = e.get("value") {
            env.insert(name, v.as_str().unwrap_or_default().to_owned());
            continue;
        }
        let from = &e["valueFrom"];
        let (kind, r) = if let Some(r) = from.get("configMapKeyRef") {
            ("ConfigMap", r)
        } else if let Some(r) = from.get("secretKeyRef") {
            ("Secret", r)
        } else {
            panic!("{who}: env {name} uses a source this test cannot resolve locally: {from}");
        };
        let (ref_name, key) = (
            r["name"].as_str().expect("ref name"),
            r["key"].as_str().expect("ref key"),
        );
        match lookup(objects, kind, ref_name, key) {
            Some(v) => {
                env.insert(name, v);
            }
            None => assert!(
                r["optional"] == true,
                "{who}: env {name} refers to {kind} {ref_name:?} key {key:?}, which the dev overlay does not render"
            ),
        }
    }
    env
}

/// Environment variable names a binary reads, from the `[env: NAME]` notes of its --help.
async fn declared_env(binary: &Path) -> BTreeSet<String> {
    let out = output_within(
        tokio::process::Command::new(binary).arg("--help").env_clear(),
        DEADLINE,
        &format!("{} --help", binary.display()),
    )
    .await;
    assert!(out.status.success(), "{} --help failed", binary.display());
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("[env: ")
        .skip(1)
        .map(|rest| rest.split(['=', ']']).next().unwrap_or_default().trim().to_owned())
        .collect()
}

/// `Kind/name` of a workload, as messages and the port map name it.
fn workload_name(workload: &Value) -> String {
    format!("{}/{}", workload["kind"].as_str().unwrap_or("?"), name_of(workload))
}

/// A declared container port and the local port standing in for it.
struct MappedPort {
    name: String,
    declared: u16,
    local: u16,
}

/// Free local ports standing in for declared container ports, per workload:
/// each pod has its own network namespace in Kubernetes, so two workloads may
/// declare the same port. Each local port stays bound here until its process
/// is about to start, so nothing else on the machine takes it meanwhile.
#[derive(Default)]
struct PortMap {
    ports: BTreeMap<(String, u16), u16>,
    reserved: BTreeMap<String, Vec<TcpListener>>,
}

impl PortMap {
    fn reserve(&mut self, workload: &str, declared: u16) -> u16 {
        let listener = TcpListener::bind(("0.0.0.0", 0)).expect("a free local port");
        let local = listener.local_addr().expect("local addr").port();
        assert!(
            self.ports.insert((workload.to_owned(), declared), local).is_none(),
            "{workload} declares container port {declared} twice"
        );
        self.reserved.entry(workload.to_owned()).or_default().push(listener);
        local
    }

    fn local(&self, workload: &str, declared: u16) -> Option<u16> {
        self.ports.get(&(workload.to_owned(), declared)).copied()
    }

    /// Frees a workload's local ports just before its process binds them.
    fn release(&mut self, workload: &str) {
        self.reserved.remove(workload);
    }
}

/// One process started from the manifests.
struct Process {
    workload: String,
    binary: String,
    container: Value,
    ports: Vec<MappedPort>,
    grace: Duration,
    log: PathBuf,
    child: Child,
}

/// Kills every process it holds when dropped, also when the test fails, and
/// then prints the end of each log if the test is failing.
struct Processes(Vec<Process>);

impl Drop for Processes {
    fn drop(&mut self) {
        for p in &mut self.0 {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        if std::thread::panicking() {
            for p in &self.0 {
                eprintln!("----- {} ({}) log, last lines -----", p.workload, p.binary);
                eprintln!("{}", tail(&p.log, 40));
            }
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut text));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Processes {
    /// Fails at once, with the log, if a process has exited.
    fn assert_running(&mut self) {
        for p in &mut self.0 {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!(
                    "{} ({}) exited with {status} before passing its probes; its log:\n{}",
                    p.workload,
                    p.binary,
                    tail(&p.log, 60)
                );
            }
        }
    }
}

/// Rewrites `scheme://service:port/...` to 127.0.0.1 when `service` is a
/// rendered Service, after checking that the Service exposes that port and
/// forwards it to a declared container port of the workload it selects: the
/// port becomes the local port standing in for that container port.
fn map_service_url(objects: &[Value], ports: &PortMap, value: &str, who: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((host, port)) = authority.rsplit_once(':') else {
        return value.to_owned();
    };
    let Some(service) = find(objects, "Service", host) else {
        return value.to_owned();
    };
    let port: u16 = port.parse().unwrap_or_else(|_| panic!("{who}: bad port in {value}"));
    let service_port = service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"].as_u64() == Some(u64::from(port)))
        .unwrap_or_else(|| panic!("{who}: {value} uses port {port}, which Service {host} does not expose"));
    let target = &service_port["targetPort"];
    let selector = service["spec"]["selector"].as_object().expect("Service selector");
    let backend = objects
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
        .find(|o| {
            let labels = &o["spec"]["template"]["metadata"]["labels"];
            selector.iter().all(|(k, v)| &labels[k] == v)
        })
        .unwrap_or_else(|| panic!("{who}: Service {host} selects no workload"));
    let container_port = backend["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .find(|p| {
            p["name"] == *target || p["containerPort"] == *target || (target.is_null() && p["containerPort"] == port)
        })
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| {
            panic!(
                "{who}: Service {host} targetPort {target} is no container port of {}",
                name_of(backend)
            )
        });
    let container_port = u16::try_from(container_port).expect("containerPort fits u16");
    let local = ports.local(&workload_name(backend), container_port).unwrap_or_else(|| {
        panic!(
            "{who}: {value} reaches {}, which this test does not start",
            workload_name(backend)
        )
    });
    format!("{scheme}://127.0.0.1:{local}{path}")
}

/// Checks what a DATABASE_URL of the dev overlay promises: it names the
/// in-cluster `postgres` Service, and the init script creates its role and database.
fn check_dev_database_url(objects: &[Value], url: &str, who: &str) {
    let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{who}: DATABASE_URL is not a URL: {e}"));
    assert!(
        matches!(parsed.scheme(), "postgres" | "postgresql"),
        "{who}: DATABASE_URL must select PostgreSQL"
    );
    let host = parsed.host_str().unwrap_or_default();
    assert!(
        find(objects, "StatefulSet", host).is_some() && find(objects, "Service", host).is_some(),
        "{who}: DATABASE_URL host {host:?} is not the overlay's PostgreSQL StatefulSet and Service"
    );
    let db = parsed.path().trim_start_matches('/');
    let init: String = find(objects, "ConfigMap", "postgres-init")
        .and_then(|cm| cm["data"].as_object())
        .map(|data| data.values().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (what, name) in [("database", db), ("role", parsed.username())] {
        assert!(
            !name.is_empty() && (init.contains(&format!(" {name} ")) || init.contains(&format!(" {name};"))),
            "{who}: the postgres-init ConfigMap does not create the {what} {name:?} that DATABASE_URL uses"
        );
    }
}

/// The local port standing in for a probe handler's port: a number or the
/// name of a declared container port.
fn probe_port(p: &Process, port: &Value) -> u16 {
    if let Some(n) = port.as_u64() {
        let n = u16::try_from(n).expect("port fits u16");
        return p
            .ports
            .iter()
            .find(|m| m.declared == n)
            .unwrap_or_else(|| panic!("{}: probe port {n} is not a declared container port", p.workload))
            .local;
    }
    let name = port.as_str().expect("probe port is a number or a name");
    p.ports
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{}: probe port {name:?} is not a declared container port", p.workload))
        .local
}

async fn grpc_serving(port: u16, service: &str) -> Result<(), String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map_err(|e| format!("check: {e}"))?
        .into_inner()
        .status();
    if status == ServingStatus::Serving {
        Ok(())
    } else {
        Err(format!("status {status:?}"))
    }
}

async fn http_ok(http: &reqwest::Client, url: &str) -> Result<(), String> {
    let status = http.get(url).send().await.map_err(|e| e.to_string())?.status();
    // Kubernetes counts 200..=399 as success.
    if (200..400).contains(&status.as_u16()) {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// What one probe does, resolved to a local port.
enum ProbeCheck {
    Grpc { port: u16, service: String },
    Http { url: String },
    Tcp { port: u16 },
}

impl ProbeCheck {
    fn from_probe(p: &Process, kind: &str) -> Self {
        let probe = &p.container[kind];
        if let Some(grpc) = probe.get("grpc") {
            Self::Grpc {
                port: probe_port(p, &grpc["port"]),
                service: grpc["service"].as_str().unwrap_or("").to_owned(),
            }
        } else if let Some(get) = probe.get("httpGet") {
            let port = probe_port(p, &get["port"]);
            let scheme = get["scheme"].as_str().unwrap_or("HTTP").to_ascii_lowercase();
            let path = get["path"].as_str().unwrap_or("/");
            Self::Http {
                url: format!("{scheme}://127.0.0.1:{port}{path}"),
            }
        } else if let Some(tcp) = probe.get("tcpSocket") {
            Self::Tcp {
                port: probe_port(p, &tcp["port"]),
            }
        } else {
            panic!(
                "{}: {kind} uses a handler this test cannot run locally: {probe}",
                p.workload
            );
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Grpc { port, service } => format!("grpc health {service:?} on port {port}"),
            Self::Http { url } => format!("GET {url}"),
            Self::Tcp { port } => format!("TCP connect to port {port}"),
        }
    }

    async fn run(&self, http: &reqwest::Client) -> Result<(), String> {
        match self {
            Self::Grpc { port, service } => grpc_serving(*port, service).await,
            Self::Http { url } => http_ok(http, url).await,
            Self::Tcp { port } => tokio::net::TcpStream::connect(("127.0.0.1", *port))
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }
}

/// Polls one probe until it passes, failing early if any process exits.
async fn await_probe(procs: &mut Processes, index: usize, kind: &str, http: &reqwest::Client) -> String {
    let check = ProbeCheck::from_probe(&procs.0[index], kind);
    let workload = procs.0[index].workload.clone();
    let start = Instant::now();
    loop {
        match check.run(http).await {
            Ok(()) => {
                return format!("{workload} {kind}: {} OK after {:?}", check.describe(), start.elapsed());
            }
            Err(e) => {
                procs.assert_running();
                assert!(
                    start.elapsed() < PROBE_DEADLINE,
                    "{workload} {kind} ({}) still failing after {PROBE_DEADLINE:?}: {e}",
                    check.describe()
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A container's binary (the file name of `command[0]`) and its arguments (the
/// rest of `command`, then `args`).
fn command_of(container: &Value, who: &str) -> (String, Vec<String>) {
    let command: Vec<&str> = container["command"]
        .as_array()
        .unwrap_or_else(|| {
            panic!("{who}: the container must name its binary in `command` (the image ENTRYPOINT is not visible here)")
        })
        .iter()
        .map(|v| v.as_str().expect("command string"))
        .collect();
    let first = command.first().unwrap_or_else(|| panic!("{who}: `command` is empty"));
    let binary = Path::new(first)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default()
        .to_owned();
    assert!(binary.starts_with("brigade-"), "{who}: unexpected command {first}");
    let args = command[1..]
        .iter()
        .map(|s| (*s).to_owned())
        .chain(
            container["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().expect("arg string").to_owned()),
        )
        .collect();
    (binary, args)
}

/// Every variable `binary` reads is set in `env`, and nothing it does not read is.
async fn check_declared_env(binary: &Path, env: &BTreeMap<String, String>, who: &str) {
    let binary_name = binary.file_name().and_then(|f| f.to_str()).unwrap_or("?");
    let declared = declared_env(binary).await;
    for name in &declared {
        assert!(
            env.contains_key(name),
            "{who}: {binary_name} reads {name}, but the manifests do not set it"
        );
    }
    for name in env.keys() {
        assert!(
            declared.contains(name) || EXTRA_ENV.contains(&name.as_str()),
            "{who}: sets {name}, which {binary_name} does not read (typo?)"
        );
    }
}

/// The container's emptyDir and Secret mounts as (mountPath, local directory):
/// one local directory per pod volume, so the pod's containers share it as in
/// Kubernetes. A Secret volume's directory holds its keys (or its `items`) as
/// files, from the rendered Secret, as the kubelet projects them.
fn local_mounts(objects: &[Value], pod: &Value, container: &Value, pod_dir: &Path) -> Vec<(String, PathBuf)> {
    let volumes: BTreeMap<&str, &Value> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v.get("emptyDir").is_some() || v.get("secret").is_some())
        .filter_map(|v| Some((v["name"].as_str()?, v)))
        .collect();
    container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m, *volumes.get(m["name"].as_str().unwrap_or_default())?)))
        .map(|(m, volume)| {
            let local = pod_dir.join(m["name"].as_str().expect("mount name"));
            std::fs::create_dir_all(&local).expect("scratch dir");
            if let Some(secret) = volume.get("secret") {
                let name = secret["secretName"].as_str().expect("secretName");
                let entries = all_entries(objects, "Secret", name)
                    .unwrap_or_else(|| panic!("volume {}: Secret {name} is not rendered", volume["name"]));
                let items: Vec<(String, String)> = match secret["items"].as_array() {
                    Some(items) => items
                        .iter()
                        .map(|i| {
                            (
                                i["key"].as_str().unwrap_or_default().to_owned(),
                                i["path"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                    None => entries.iter().map(|(k, _)| (k.clone(), k.clone())).collect(),
                };
                for (key, path) in items {
                    let value = entries
                        .iter()
                        .find(|(k, _)| *k == key)
                        .unwrap_or_else(|| panic!("Secret {name} has no key {key}"));
                    std::fs::write(local.join(path), &value.1).expect("secret file");
                }
            }
            (m["mountPath"].as_str().expect("mountPath").to_owned(), local)
        })
        .collect()
}

/// Maps a container's environment to this machine: paths on emptyDir mounts to
/// their local directories, listen addresses on a declared port of the pod to
/// its local port, URLs naming a rendered Service to 127.0.0.1 and a local port.
fn localize_env(
    objects: &[Value],
    ports: &PortMap,
    pod_ports: &[MappedPort],
    env: &mut BTreeMap<String, String>,
    mounts: &[(String, PathBuf)],
    who: &str,
) {
    if let Some(data_dir) = env.get("BRIGADE_DATA_DIR") {
        assert!(
            mounts.iter().any(|(m, _)| Path::new(data_dir).starts_with(m)),
            "{who}: BRIGADE_DATA_DIR {data_dir} is not on a writable volume (readOnlyRootFilesystem)"
        );
    }
    for value in env.values_mut() {
        if let Some((mount, local)) = mounts.iter().find(|(m, _)| Path::new(value.as_str()).starts_with(m)) {
            let rest = Path::new(value.as_str()).strip_prefix(mount).expect("prefix");
            *value = local.join(rest).to_string_lossy().into_owned();
        }
        if let Ok(addr) = value.parse::<SocketAddr>()
            && let Some(mapped) = pod_ports.iter().find(|m| m.declared == addr.port())
        {
            *value = SocketAddr::new(addr.ip(), mapped.local).to_string();
            continue;
        }
        *value = map_service_url(objects, ports, value, who);
    }
}

/// Runs an init container's command to completion, as the kubelet does before
/// it starts the pod's containers: fails, with the log, unless it exits 0
/// within INIT_DEADLINE. Returns how long it took.
async fn run_to_completion(
    binary: &Path,
    args: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
    log: &Path,
    who: &str,
) -> Duration {
    let out = File::create(log).expect("log file");
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log handle"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("{who}: cannot start {}: {e}", binary.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() >= INIT_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{who}: `{} {}` did not exit within {INIT_DEADLINE:?} (an init container must run to completion); \
                 its log:\n{}",
                binary.display(),
                args.join(" "),
                tail(log, 60)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        status.success(),
        "{who}: `{} {}` exited with {status}; the pod would never start. Its log:\n{}",
        binary.display(),
        args.join(" "),
        tail(log, 60)
    );
    start.elapsed()
}

/// Tables in a PostgreSQL database, outside the system schemas.
async fn count_tables(url: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.expect("connect to the test database");
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_one(&pool)
    .await
    .expect("count tables");
    pool.close().await;
    n
}

/// The container ports a Deployment's (first) container declares, by name.
fn declared_ports(container: &Value, who: &str) -> Vec<(String, u16)> {
    container["ports"]
        .as_array()
        .unwrap_or_else(|| panic!("{who}: the container declares no ports"))
        .iter()
        .map(|p| {
            let port = p["containerPort"].as_u64().expect("containerPort");
            let port = u16::try_from(port).expect("containerPort fits u16");
            (p["name"].as_str().unwrap_or_default().to_owned(), port)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_overlay_processes_start_and_pass_their_probes() {
    let Some(objects) = render("dev").await else { return };

    // Which processes: every container of every Deployment runs a Brigade binary.
    let deployments: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Deployment").collect();
    let mut binaries: Vec<String> = Vec::new();
    for d in &deployments {
        for c in d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers")
        {
            let command = c["command"].as_array().and_then(|a| a.first()).and_then(Value::as_str);
            let command = command.unwrap_or_else(|| {
                panic!(
                    "{}: the container must name its binary in `command` (the image ENTRYPOINT is not visible here)",
                    name_of(d)
                )
            });
            let binary = Path::new(command)
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            assert!(
                binary.starts_with("brigade-"),
                "{}: unexpected command {command}",
                name_of(d)
            );
            binaries.push(binary.to_owned());
        }
    }
    binaries.sort();
    assert_eq!(
        binaries,
        ["brigade-gateway", "brigade-job-queue", "brigade-recipe-types"],
        "the dev overlay must run each Brigade process once"
    );
    let dir = binary_dir();
    for b in &binaries {
        assert!(
            dir.join(b).is_file(),
            "{} is missing: build the binaries first with `cargo build --bins` (CI does so before the tests)",
            dir.join(b).display()
        );
    }

    // The overlay's PostgreSQL is replaced by fresh local databases, one per service.
    let statefulsets: Vec<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "StatefulSet")
        .map(name_of)
        .collect();
    assert_eq!(
        statefulsets,
        ["postgres"],
        "the dev overlay's only StatefulSet is its PostgreSQL"
    );

    // Ports: each declared container port gets a free local port (see the header).
    let mut port_map = PortMap::default();
    let mut all_declared = BTreeSet::new();
    for d in &deployments {
        let workload = workload_name(d);
        for (_, port) in declared_ports(&d["spec"]["template"]["spec"]["containers"][0], &workload) {
            port_map.reserve(&workload, port);
            all_declared.insert(port);
        }
    }
    // The declared ports need not be free: hold 127.0.0.1 on each one that is, as a
    // user's `cargo run --bin brigade` would; one that is taken already proves the same.
    let held: Vec<TcpListener> = all_declared
        .iter()
        .filter_map(|port| TcpListener::bind(("127.0.0.1", *port)).ok())
        .collect();
    for port in &all_declared {
        assert!(
            TcpListener::bind(("127.0.0.1", *port)).is_err(),
            "127.0.0.1:{port} is held while the processes run"
        );
    }

    let scratch = tempfile::tempdir().expect("temp dir");
    let mut databases: Vec<TestDatabase> = Vec::new();
    let mut procs = Processes(Vec::new());

    for d in &deployments {
        let pod = &d["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let workload = format!("Deployment/{}", name_of(d));
        let (binary_name, args) = command_of(container, &workload);
        let binary = dir.join(&binary_name);

        let manifest_env = resolve_env(&objects, container, &workload);
        let mut env = manifest_env.clone();

        // Every variable the binary reads is set by the manifests, and nothing unknown is.
        check_declared_env(&binary, &env, &workload).await;

        // Database: the dev overlay's URL is checked, then replaced by a fresh local one.
        let mut local_database_url = None;
        if let Some(url) = env.get("DATABASE_URL").cloned() {
            check_dev_database_url(&objects, &url, &workload);
            let Some(db) = TestDatabase::new(Backend::Postgres).await else {
                return; // The run opted out of PostgreSQL: TestDatabase said so.
            };
            let local = db.url.clone().expect("PostgreSQL URL");
            env.insert("DATABASE_URL".into(), local.clone());
            local_database_url = Some(local);
            databases.push(db);
        }

        // Ports: each declared one is where the process is told to listen.
        let ports: Vec<MappedPort> = declared_ports(container, &workload)
            .into_iter()
            .map(|(name, declared)| MappedPort {
                local: port_map.local(&workload, declared).expect("reserved above"),
                name,
                declared,
            })
            .collect();
        for p in &ports {
            assert!(
                env.values()
                    .any(|v| v.parse::<SocketAddr>().is_ok_and(|a| a.port() == p.declared)),
                "{workload} declares container port {} ({:?}), but no variable of its environment sets a listen \
                 address on it: the process would not listen where its probes and Services expect",
                p.declared,
                p.name
            );
        }

        // Writable paths: each must be on an emptyDir mount (the root filesystem is read-only).
        let pod_dir = scratch.path().join(name_of(d));
        let mounts = local_mounts(&objects, pod, container, &pod_dir);
        localize_env(&objects, &port_map, &ports, &mut env, &mounts, &workload);
        let grace = Duration::from_secs(pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30));

        // Init containers run first, in order, each to a successful exit, as the
        // kubelet runs them; a service that migrates a database must have one
        // running `<its binary> --migrate-only` with the server's configuration.
        let inits: &[Value] = pod["initContainers"].as_array().map_or(&[], Vec::as_slice);
        let migrates = MIGRATING_BINARIES.contains(&binary_name.as_str());
        let migrate_steps = inits
            .iter()
            .filter(|i| command_of(i, &workload).1.iter().any(|a| a == MIGRATE_FLAG))
            .count();
        assert!(
            !migrates || migrate_steps > 0,
            "{workload} runs {binary_name}, which migrates its database, but has no init container running \
             `{binary_name} {MIGRATE_FLAG}`: without it replicas race schema changes (see deploy/README.md, \
             \"Schema migrations and rollouts\")"
        );
        for init in inits {
            let who = format!("{workload} init container {}", init["name"].as_str().unwrap_or("?"));
            let (init_binary_name, init_args) = command_of(init, &who);
            let init_binary = dir.join(&init_binary_name);
            let is_migrate_step = init_args.iter().any(|a| a == MIGRATE_FLAG);
            let mut init_env = resolve_env(&objects, init, &who);
            if is_migrate_step {
                assert_eq!(
                    init_binary_name, binary_name,
                    "{who}: {MIGRATE_FLAG} must run the server's own binary"
                );
                assert_eq!(
                    init_env, manifest_env,
                    "{who}: the migration step must get exactly the server container's environment"
                );
                assert_eq!(
                    init["volumeMounts"], container["volumeMounts"],
                    "{who}: the migration step must mount exactly what the server container mounts"
                );
            }
            check_declared_env(&init_binary, &init_env, &who).await;
            if let Some(url) = init_env.get("DATABASE_URL").cloned() {
                check_dev_database_url(&objects, &url, &who);
                assert_eq!(
                    Some(&url),
                    manifest_env.get("DATABASE_URL"),
                    "{who}: DATABASE_URL is not the server container's database"
                );
                let local = local_database_url
                    .clone()
                    .expect("the server's database was created above");
                init_env.insert("DATABASE_URL".into(), local);
            }
            let init_mounts = local_mounts(&objects, pod, init, &pod_dir);
            localize_env(&objects, &port_map, &ports, &mut init_env, &init_mounts, &who);

            let log = scratch.path().join(format!(
                "{}-init-{}.log",
                name_of(d),
                init["name"].as_str().unwrap_or("?")
            ));
            let elapsed = run_to_completion(&init_binary, &init_args, &init_env, scratch.path(), &log, &who).await;
            eprintln!(
                "{who}: `{init_binary_name} {}` exited 0 after {elapsed:?}",
                init_args.join(" ")
            );
            if is_migrate_step && let Some(url) = &local_database_url {
                let tables = count_tables(url).await;
                assert!(
                    tables > 0,
                    "{who} exited 0 but left the server's database without tables; its log:\n{}",
                    tail(&log, 60)
                );
            }
        }

        let log = scratch.path().join(format!("{}.log", name_of(d)));
        let out = File::create(&log).expect("log file");
        port_map.release(&workload);
        let child = Command::new(&binary)
            .args(&args)
            .env_clear()
            .envs(&env)
            .current_dir(scratch.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{workload}: cannot start {}: {e}", binary.display()));
        procs.0.push(Process {
            workload,
            binary: binary_name,
            container: container.clone(),
            ports,
            grace,
            log,
            child,
        });
    }

    // Every declared probe passes on its declared port.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    let mut checked = 0;
    for i in 0..procs.0.len() {
        for kind in ["startupProbe", "readinessProbe", "livenessProbe"] {
            if procs.0[i].container.get(kind).is_some() {
                let line = await_probe(&mut procs, i, kind, &http).await;
                eprintln!("{line}");
                checked += 1;
            }
        }
        for kind in ["readinessProbe", "livenessProbe"] {
            assert!(
                procs.0[i].container.get(kind).is_some(),
                "{} declares no {kind}",
                procs.0[i].workload
            );
        }
    }
    assert!(
        checked >= 6,
        "expected liveness and readiness probes on all three processes"
    );

    // The gateway found both services through the manifest addresses.
    let gateway = procs
        .0
        .iter()
        .find(|p| p.binary == "brigade-gateway")
        .expect("gateway process");
    let port = gateway.ports.first().expect("gateway port").local;
    let response = http
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "gateway /readyz: {body}");
    assert_eq!(body["job_queue"], "SERVING", "{body}");
    assert_eq!(body["recipe_types"], "SERVING", "{body}");

    // Each process stops on SIGTERM within its terminationGracePeriodSeconds.
    for p in &mut procs.0 {
        let pid = p.child.id().to_string();
        let sent = output_within(
            tokio::process::Command::new("kill").args(["-TERM", &pid]),
            DEADLINE,
            "kill -TERM",
        )
        .await;
        assert!(sent.status.success(), "kill -TERM {pid}");
        let start = Instant::now();
        let exit = loop {
            if let Some(status) = p.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                start.elapsed() < p.grace,
                "{} did not stop within terminationGracePeriodSeconds ({:?}) of SIGTERM",
                p.workload,
                p.grace
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(exit.success(), "{} exited with {exit} after SIGTERM", p.workload);
    }
    drop(procs);
    drop(databases);
    drop(held);
}
