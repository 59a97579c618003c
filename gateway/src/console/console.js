// Brigade's web console: plain JavaScript, no framework and no build step, so
// the binary embeds this file as written and the page works offline. Every
// datum comes from the REST routes of the same origin; with authentication on,
// the token the user types is kept in sessionStorage and sent as a bearer token.
//
// The recipe graph uses a small layered layout of our own (longest-path layers,
// one barycentre pass to order each layer) instead of dagre: recipe definitions
// are small DAGs, and vendoring dagre would add a bundle and its update chores
// for no visible gain at that size.
//
// Live recipe states: the recipe page reads GET /v6/recipes/{id}/events/
// (server-sent events relaying WatchRecipe) with fetch(), so the bearer token
// travels in a header, never in the URL; it polls only if that stream fails.
//
// Revision diffs are computed here: nodes compared by their JSON (keys
// sorted), edges by their ends and labels.
"use strict";

const TOKEN_KEY = "brigade-token";
const SVG_NS = "http://www.w3.org/2000/svg";
const view = document.getElementById("view");
let leaving = []; // what to stop when the page changes: timers, event streams
let generation = 0;

const onLeave = (stop) => leaving.push(stop);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    // A failed action says why on the page, not only in the browser's console.
    if (k.startsWith("on")) el.addEventListener(k.slice(2), async (event) => {
      try { await v(event); } catch (e) { showError(e.message); }
    });
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message || "";
  box.hidden = !message;
}

function showAuth() {
  const auth = document.getElementById("auth");
  auth.replaceChildren();
  if (sessionStorage.getItem(TOKEN_KEY)) {
    auth.append("signed in with a token ", h("button", { id: "signout", onclick: () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showAuth();
      route();
    } }, "Sign out"));
  }
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// One REST call; 401 asks for a token, any other failure says what the server said.
async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; } // e.g. a proxy's HTML error page
  if (response.status === 401) {
    document.getElementById("signin").hidden = false;
    throw new ApiError(401, "this Brigade needs a token: sign in above");
  }
  if (!response.ok) {
    const detail = body && (body.detail || (body.errors && body.errors.map((e) => e.detail || e.title).join("; ")));
    throw new ApiError(response.status, `${options.method || "GET"} ${path}: ${response.status} ${detail || ""}`);
  }
  return body;
}

// A relative path of a link the server gave (absolute on Scale's routes).
function local(url) {
  if (!url) return null;
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

const badge = (status) => h("span", { class: "badge s-" + status }, status || "—");
const json = (value) => h("pre", {}, JSON.stringify(value, null, 2));
const link = (href, text) => h("a", { href }, text);
const table = (head, rows) => h("table", {}, head.some((c) => c) ? h("tr", {}, head.map((c) => h("th", {}, c))) : null, rows);

function every(ms, fn) {
  const mine = generation;
  const tick = async () => {
    if (mine !== generation) return;
    let more = true;
    try { more = (await fn()) !== false; } catch (e) { showError(e.message); }
    if (more && mine === generation) {
      const timer = setTimeout(tick, ms);
      onLeave(() => clearTimeout(timer));
    }
  };
  const timer = setTimeout(tick, ms);
  onLeave(() => clearTimeout(timer));
}

// ---- services --------------------------------------------------------------

const STATUSES = ["REGISTERED", "WORKING", "COMPLETED", "ERROR"];

function ago(when) {
  if (!when) return "—";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(when)) / 1000));
  return seconds < 120 ? `${seconds} s ago` : seconds < 7200 ? `${Math.round(seconds / 60)} min ago` : `${Math.round(seconds / 3600)} h ago`;
}

// Counts come from GET /services/{id}/stats (one grouped query in job-queue),
// the version and check-in timeout from the service's detail with one job.
async function servicesPage() {
  const list = await api("/services");
  const rows = await Promise.all(list.data.map(async ({ id }) => {
    const [{ data: s }, { data: st }] = await Promise.all([api(`/services/${id}?page_size=1`), api(`/services/${id}/stats`)]);
    const stat = (key, value) => h("td", { class: "stat", "data-stat": key }, value);
    return h("tr", { class: "service", "data-id": s.id },
      h("td", {}, link(`#/services/${s.id}`, s.name), h("div", { class: "muted" }, s.description)),
      h("td", {}, s.version, " r", s.revision),
      STATUSES.map((status) => h("td", { class: "count", "data-status": status }, link(`#/jobs?service_id=${s.id}&status=${status}`, st.counts[status]))),
      stat("due_later", st.due_later), stat("done_minute", st.completed_last_minute), stat("done_hour", st.completed_last_hour),
      h("td", { "data-stat": "claims" }, st.paused ? badge("PAUSED") : "running", st.max_concurrency === null ? "" : ` · limit ${st.max_concurrency}`),
      h("td", { "data-stat": "check_in", title: st.last_checked_in || "" }, ago(st.last_checked_in),
        s.has_timed_out ? [" ", badge("TIMED OUT")] : ` (timeout ${s.timeout} s)`));
  }));
  return [h("h1", {}, "Services"),
    table(["service", "version", ...STATUSES, "due later", "done/min", "done/hour", "claims", "last check-in"], rows),
    h("p", { class: "muted" }, "REGISTERED counts every queued job; “due later” are those waiting for run_at or a retry backoff.")];
}

// Bulk Cancel or Retry of one service's jobs matching the filter shown.
function bulkButton(serviceId, action, filter) {
  const statuses = filter.status ? [filter.status] : action === "retry" ? ["ERROR"] : ["REGISTERED", "WORKING"];
  const body = { status: statuses };
  if (filter.since) body.since = filter.since;
  if (filter.until) body.until = filter.until;
  return h("button", { id: `bulk-${action}`, onclick: async () => {
    const answer = await api(`/services/${serviceId}/jobs/${action}`, { method: "POST", body });
    await route();
    showError(`${action}: ${answer.data.count} job(s)`);
  } }, `${action === "cancel" ? "Cancel" : "Retry"} ${filter.status || (action === "retry" ? "ERROR" : "queued and working")} jobs`);
}

async function servicePage(id, query) {
  const service = (await api(`/services/${id}?page_size=1`)).data;
  const status = query.get("status") || "";
  const token = query.get("page_token");
  const params = new URLSearchParams({ page_size: "20" });
  if (status) params.set("status", status);
  if (token) params.set("page_token", token);
  const jobs = await api(`/services/${id}/jobs?${params}`);
  const filter = h("select", { id: "status-filter", onchange: (e) => {
    location.hash = `#/services/${id}` + (e.target.value ? `?status=${e.target.value}` : "");
  } }, h("option", { value: "" }, "any status"),
  STATUSES.map((st) => h("option", { value: st, selected: st === status }, st)));
  const nextToken = pageToken(jobs);
  const rows = jobs.data.map((j) => h("tr", { class: "job", "data-id": j.id },
    h("td", {}, link(`#/jobs/${j.id}`, j.id)), h("td", {}, badge(j.status)), h("td", {}, j.date_submitted)));
  return [h("h1", {}, "Service ", service.name),
    h("p", {}, service.description, " · ", service.paused ? badge("PAUSED") : "running",
      service.max_concurrency === null ? "" : ` · at most ${service.max_concurrency} working`,
      ` · max ${service.max_attempts} attempts · lease ${service.lease_seconds}s`),
    h("p", {}, h("button", { id: "pause", onclick: async () => {
      await api(`/services/${id}`, { method: "PATCH", body: { paused: !service.paused } });
      route();
    } }, service.paused ? "Resume" : "Pause")),
    h("p", {}, "Filter: ", filter, " ", bulkButton(id, "cancel", { status }), bulkButton(id, "retry", { status })),
    table(["job", "status", "submitted"], rows),
    pager(token, nextToken && `#/services/${id}?` + new URLSearchParams({ ...(status ? { status } : {}), page_token: nextToken }))];
}

// The page token of a list's `links.next`, if there is a next page.
function pageToken(list) {
  const next = local(list.links && list.links.next);
  return next && new URLSearchParams(next.split("?")[1]).get("page_token");
}

const pager = (hasPrevious, nextHref) => h("p", { class: "pager" },
  hasPrevious ? h("button", { onclick: () => history.back() }, "Previous page") : null,
  nextHref ? link(nextHref, "Next page") : null);

// ---- jobs ------------------------------------------------------------------

// A datetime-local field's value as RFC 3339 (local time) and back.
const toRfc3339 = (local) => local ? new Date(local).toISOString() : "";
function toLocalInput(rfc3339) {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

// Every job, filtered by service, status and submitted time, 20 to a page
// (GET /jobs); bulk Cancel/Retry once a service is chosen.
async function jobsPage(query) {
  const filter = Object.fromEntries(["service_id", "status", "since", "until"].map((k) => [k, query.get(k) || ""]));
  const token = query.get("page_token");
  const params = new URLSearchParams({ page_size: "20" });
  for (const [k, v] of Object.entries(filter)) if (v) params.set(k, v);
  if (token) params.set("page_token", token);
  const [services, jobs] = await Promise.all([api("/services"), api(`/jobs?${params}`)]);
  const service = services.data.find((s) => s.id === filter.service_id);
  const fields = {
    service_id: h("select", { id: "jobs-service" }, h("option", { value: "" }, "every service"),
      services.data.map((s) => h("option", { value: s.id, selected: s.id === filter.service_id }, s.name))),
    status: h("select", { id: "jobs-status" }, h("option", { value: "" }, "any status"),
      STATUSES.map((st) => h("option", { value: st, selected: st === filter.status }, st))),
    since: h("input", { id: "jobs-since", type: "datetime-local", value: toLocalInput(filter.since) }),
    until: h("input", { id: "jobs-until", type: "datetime-local", value: toLocalInput(filter.until) }),
  };
  const form = h("form", { id: "jobs-filter", onsubmit: (e) => {
    e.preventDefault();
    const chosen = new URLSearchParams();
    for (const [k, el] of Object.entries(fields)) {
      const value = el.type === "datetime-local" ? toRfc3339(el.value) : el.value;
      if (value) chosen.set(k, value);
    }
    location.hash = "#/jobs" + (chosen.toString() ? "?" + chosen : "");
  } }, "Service ", fields.service_id, " status ", fields.status, " submitted from ", fields.since, " to ", fields.until, " ",
  h("button", { type: "submit", id: "jobs-apply" }, "Apply"));
  const rows = jobs.data.map((j) => h("tr", { class: "job", "data-id": j.id },
    h("td", {}, link(`#/jobs/${j.id}`, j.id)), h("td", {}, badge(j.status)), h("td", {}, j.date_submitted)));
  const nextToken = pageToken(jobs);
  const keep = Object.fromEntries(Object.entries(filter).filter(([, v]) => v));
  return [h("h1", {}, "Jobs", service ? [" of ", link(`#/services/${service.id}`, service.name)] : ""),
    form,
    service ? h("p", {}, bulkButton(service.id, "cancel", filter), bulkButton(service.id, "retry", filter))
      : h("p", { class: "muted" }, "Choose a service to cancel or retry its jobs in bulk."),
    table(["job", "status", "submitted"], rows),
    jobs.data.length ? null : h("p", { class: "muted", id: "jobs-empty" }, "No job matches."),
    pager(token, nextToken && "#/jobs?" + new URLSearchParams({ ...keep, page_token: nextToken }))];
}

async function jobPage(id) {
  const job = (await api(`/jobs/${id}`)).data;
  const service = await api(`/services/${job.service_id}?page_size=1`).then((s) => s.data, () => null);
  const act = (action, label) => h("button", { id: action, onclick: async () => {
    await api(`/jobs/${id}/${action}`, { method: "POST", body: {} });
    route();
  } }, label);
  const attempts = job.attempt_history.map((a) => h("tr", {},
    h("td", {}, a.number), h("td", {}, a.worker_id), h("td", {}, a.claimed || "—"),
    h("td", {}, a.finished || "—"), h("td", {}, a.outcome), h("td", {}, a.error_message || "")));
  const progress = job.progress === null || job.progress === undefined ? "—"
    : [h("span", { class: "bar" }, h("span", { style: `width:${job.progress}%` })), ` ${job.progress}% ${job.progress_message || ""}`];
  return [h("h1", {}, "Job ", h("code", {}, job.id)),
    table(["", ""], [
      h("tr", {}, h("th", {}, "status"), h("td", { id: "job-status" }, badge(job.status), job.cancelled ? " (cancelled)" : "")),
      h("tr", {}, h("th", {}, "service"), h("td", {}, link(`#/services/${job.service_id}`, service ? `${service.name} ${service.version}` : job.service_id))),
      h("tr", {}, h("th", {}, "submitted"), h("td", {}, job.date_submitted)),
      h("tr", {}, h("th", {}, "attempts"), h("td", {}, `${job.attempts} of ${job.max_attempts}`)),
      h("tr", {}, h("th", {}, "priority"), h("td", {}, job.priority)),
      h("tr", {}, h("th", {}, "progress"), h("td", {}, progress)),
      h("tr", {}, h("th", {}, "error"), h("td", {}, job.error_message || job.cancel_reason || "—")),
      job.recipe_id ? h("tr", {}, h("th", {}, "recipe"), h("td", {}, link(`#/recipes/${job.recipe_id}`, `recipe ${job.recipe_id}`), ` node ${job.recipe_node}`)) : null,
    ]),
    h("p", {}, act("cancel", "Cancel"), act("retry", "Retry")),
    h("h2", {}, "Attempts"), attempts.length ? table(["#", "worker", "claimed", "finished", "outcome", "error"], attempts) : h("p", { class: "muted" }, "Not claimed yet."),
    h("h2", {}, "Parameters"), json(job.parameters),
    h("h2", {}, "Results"), json(job.results)];
}

// ---- the recipe graph ------------------------------------------------------

const STATE_COLOURS = {
  PENDING: "#e5e7eb", BLOCKED: "#d1d5db", QUEUED: "#bfdbfe", RUNNING: "#fde68a",
  COMPLETED: "#86efac", FAILED: "#fca5a5", CANCELED: "#cbd5e1", SKIPPED: "#e9d5ff",
};
const KIND_COLOURS = { input: "#f1f5f9", job: "#dbeafe", recipe: "#ede9fe", condition: "#fef3c7" };

// Nodes and labelled edges of a definition: the recipe input is its own node.
function graphOf(definition) {
  const nodes = [{ name: "input", kind: "input", caption: "recipe input" }];
  const edges = [];
  for (const [name, node] of Object.entries(definition.nodes || {})) {
    const type = node.node_type || {};
    const kind = type.node_type || "job";
    const caption = kind === "job" ? `${type.job_type_name} ${type.job_type_version || ""}`
      : kind === "recipe" ? `recipe ${type.recipe_type_name || ""}` : kind;
    nodes.push({ name, kind, caption });
    const labels = new Map();
    for (const [input, from] of Object.entries(node.input || {})) {
      const source = from.type === "dependency" ? from.node : "input";
      const label = from.type === "dependency" ? `${from.output}→${input}` : `${from.input}→${input}`;
      labels.set(source, [...(labels.get(source) || []), label]);
    }
    for (const dep of node.dependencies || []) if (!labels.has(dep.name)) labels.set(dep.name, [dep.acceptance === false ? "if false" : ""]);
    for (const [source, ls] of labels) edges.push({ from: source, to: name, label: ls.filter(Boolean).join(", ") });
  }
  return { nodes, edges };
}

function layout({ nodes, edges }) {
  const layer = Object.fromEntries(nodes.map((n) => [n.name, 0]));
  for (let pass = 0; pass < nodes.length; pass++) {
    for (const e of edges) if (layer[e.to] <= layer[e.from]) layer[e.to] = layer[e.from] + 1;
  }
  const layers = [];
  for (const n of nodes) (layers[layer[n.name]] ||= []).push(n.name);
  const row = {};
  layers.forEach((names, i) => {
    if (i > 0) {
      const centre = (name) => {
        const preds = edges.filter((e) => e.to === name).map((e) => row[e.from]);
        return preds.length ? preds.reduce((a, b) => a + b, 0) / preds.length : 0;
      };
      names.sort((a, b) => centre(a) - centre(b));
    }
    names.forEach((name, j) => { row[name] = j; });
  });
  const W = 170, H = 46, GX = 110, GY = 40;
  const tallest = Math.max(...layers.map((l) => l.length));
  const pos = {};
  layers.forEach((names, i) => names.forEach((name, j) => {
    const offset = (tallest - names.length) * (H + GY) / 2;
    pos[name] = { x: 20 + i * (W + GX), y: 20 + offset + j * (H + GY) };
  }));
  return { pos, W, H, width: 40 + layers.length * (W + GX) - GX, height: 40 + tallest * (H + GY) - GY };
}

// JSON text with object keys sorted, so two definitions compare by content.
function canonical(value) {
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  if (value && typeof value === "object") {
    return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }
  return JSON.stringify(value);
}

// The newer definition's graph, each node and edge marked against the older:
// "added", "changed" (its JSON differs; an edge: its label) or "removed" (kept, drawn ghosted).
function diffGraph(older, newer) {
  const before = graphOf(older), after = graphOf(newer);
  const oldNodes = older.nodes || {}, newNodes = newer.nodes || {};
  for (const n of after.nodes) {
    if (n.kind === "input") n.mark = canonical(older.input) === canonical(newer.input) ? "" : "changed";
    else if (!(n.name in oldNodes)) n.mark = "added";
    else n.mark = canonical(oldNodes[n.name]) === canonical(newNodes[n.name]) ? "" : "changed";
  }
  for (const n of before.nodes) if (n.kind !== "input" && !(n.name in newNodes)) after.nodes.push({ ...n, mark: "removed" });
  const key = (e) => `${e.from}>${e.to}`;
  const oldEdges = new Map(before.edges.map((e) => [key(e), e]));
  const newKeys = new Set(after.edges.map(key));
  for (const e of after.edges) {
    const was = oldEdges.get(key(e));
    e.mark = !was ? "added" : was.label === e.label ? "" : "changed";
  }
  for (const e of before.edges) if (!newKeys.has(key(e))) after.edges.push({ ...e, mark: "removed" });
  return after;
}

const MARK_COLOURS = { added: "#16a34a", changed: "#d97706", removed: "#dc2626" };

// A graph (graphOf or diffGraph) as SVG; `states` (node name → {status, job_id}) colours it.
function drawGraph(graph, states) {
  const { pos, W, H, width, height } = layout(graph);
  const root = svg("svg", { class: "graph", id: "graph", width, height, viewBox: `0 0 ${width} ${height}` });
  root.append(svg("defs", {}, ...["", ...Object.keys(MARK_COLOURS)].map((mark) =>
    svg("marker", { id: `arrow${mark}`, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", fill: MARK_COLOURS[mark] || "#94a3b8" })))));
  for (const e of graph.edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const mark = e.mark || "";
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    root.append(svg("path", { class: `edge ${mark}`, "data-from": e.from, "data-to": e.to, "data-diff": mark,
      d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, "marker-end": `url(#arrow${mark})` }));
    if (e.label) root.append(svg("text", { class: `label ${mark}`, x: mx, y: (y1 + y2) / 2 - 4, "text-anchor": "middle" }, e.label));
  }
  for (const n of graph.nodes) {
    const p = pos[n.name];
    const state = states && states[n.name];
    const status = state ? state.status : null;
    const mark = n.mark || "";
    const fill = status ? STATE_COLOURS[status] || "#fff" : KIND_COLOURS[n.kind] || "#fff";
    const stroke = MARK_COLOURS[mark] || (n.kind === "recipe" ? "#7c3aed" : "#64748b");
    const g = svg("g", { class: `node ${mark}`, "data-node": n.name, "data-kind": n.kind, "data-state": status || "", "data-diff": mark },
      svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: n.kind === "condition" ? 16 : 5, fill, stroke,
        "stroke-width": mark ? 2.5 : 1, "stroke-dasharray": n.kind === "input" || mark === "removed" ? "4 3" : "none" }),
      svg("text", { x: p.x + 8, y: p.y + 18, "font-weight": 600 }, n.name, mark ? ` (${mark})` : ""),
      svg("text", { x: p.x + 8, y: p.y + 36, class: "label" }, status ? `${n.caption} · ${status}` : n.caption));
    if (state && state.job_id) {
      const a = svg("a", { href: `#/jobs/${state.job_id}`, class: "job-link" });
      a.append(g);
      root.append(a);
    } else root.append(g);
  }
  return root;
}

const legend = (colours, id) => h("p", { class: "legend", id }, Object.entries(colours).map(([k, c]) =>
  h("span", {}, h("span", { class: "badge", style: `background:${c}` }, k))));

// ---- recipe types ----------------------------------------------------------

async function recipeTypesPage() {
  const page = await api("/v6/recipe-types/?page_size=1000");
  const rows = page.results.map((t) => h("tr", { class: "recipe-type" },
    h("td", {}, link(`#/recipe-types/${t.name}`, t.title)), h("td", {}, t.name),
    h("td", {}, t.revision_num), h("td", {}, t.is_active ? "active" : "inactive"), h("td", {}, t.description || "")));
  return [h("h1", {}, "Recipe types"), table(["title", "name", "revision", "", "description"], rows)];
}

// One revision drawn (`?rev=N`, default the newest), optionally compared with
// another (`?diff=M`): the newer one is drawn, marked against the older.
async function recipeTypePage(name, query) {
  const base = `/v6/recipe-types/${encodeURIComponent(name)}`;
  const [type, revisions] = await Promise.all([api(`${base}/`), api(`${base}/revisions/?page_size=1000`)]);
  const shown = Number(query.get("rev")) || type.revision_num;
  const against = Number(query.get("diff")) || 0;
  const [newer, older] = against > shown ? [against, shown] : [shown, against];
  const revision = (n) => api(`${base}/revisions/${n}/`);
  const [drawn, base2] = await Promise.all([revision(newer), older ? revision(older) : null]);
  const graph = base2 ? diffGraph(base2.definition, drawn.definition) : graphOf(drawn.definition);
  const go = (rev, diff) => { location.hash = `#/recipe-types/${encodeURIComponent(name)}?` + new URLSearchParams({ rev, ...(diff ? { diff } : {}) }); };
  const nums = revisions.results.map((r) => r.revision_num).sort((a, b) => b - a);
  const pick = (id, value, first, onchange) => h("select", { id, onchange }, first ? h("option", { value: "" }, first) : null,
    nums.map((n) => h("option", { value: n, selected: n === value }, `revision ${n}`)));
  const rows = revisions.results.map((r) => h("tr", { class: "revision", "data-revision": r.revision_num },
    h("td", {}, link(`#/recipe-types/${encodeURIComponent(name)}?rev=${r.revision_num}`, `revision ${r.revision_num}`)),
    h("td", {}, r.created || ""),
    h("td", {}, r.revision_num > 1 ? link(`#/recipe-types/${encodeURIComponent(name)}?rev=${r.revision_num}&diff=${r.revision_num - 1}`, `changes from ${r.revision_num - 1}`) : "first")));
  const title = base2 ? `revision ${newer}, marked against revision ${older}` : `revision ${newer}`;
  return [h("h1", {}, type.title, " ", h("span", { class: "muted" }, `${type.name} · ${title}`)),
    h("p", {}, type.description || ""),
    h("p", {}, "Show ", pick("rev-shown", newer, null, (e) => go(e.target.value, older || "")),
      " compared with ", pick("rev-diff", older, "nothing", (e) => go(newer, e.target.value))),
    legend(KIND_COLOURS, "kinds"), base2 ? legend(MARK_COLOURS, "diff-legend") : null,
    drawGraph(graph, null),
    h("h2", {}, "Revisions"), table(["revision", "created", ""], rows),
    h("h2", {}, `Definition (revision ${newer})`), json(drawn.definition)];
}

// ---- recipes ---------------------------------------------------------------

const recipeStatus = (r) => r.status || (r.is_completed ? "COMPLETED" : "RUNNING");

async function recipesPage() {
  const page = await api("/v6/recipes/?page_size=100");
  const rows = page.results.map((r) => h("tr", { class: "recipe" },
    h("td", {}, link(`#/recipes/${r.id}`, `recipe ${r.id}`)), h("td", {}, r.recipe_type.title || r.recipe_type.name),
    h("td", {}, badge(recipeStatus(r))), h("td", {}, r.created), h("td", {}, `${r.jobs_completed ?? "?"} / ${r.jobs_total ?? "?"}`)));
  return [h("h1", {}, "Recipes"), table(["recipe", "type", "status", "created", "jobs done"], rows)];
}

function nodeStates(recipe) {
  const states = {};
  for (const [name, node] of Object.entries((recipe.details && recipe.details.nodes) || {})) {
    const t = node.node_type || {};
    states[name] = { status: t.status || node.status || null, job_id: t.job_id || null };
  }
  return states;
}

// Follows a server-sent event stream with fetch(), which (unlike EventSource)
// can send the bearer token in a header; calls onEvent(name, data) per event
// and resolves when the server ends the stream.
async function follow(path, onEvent, signal) {
  const headers = { Accept: "text/event-stream" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { headers, signal });
  if (!response.ok || !response.body) throw new ApiError(response.status, `GET ${path}: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
      }
      if (data) onEvent(name, JSON.parse(data)); // comment lines (keep-alives) carry no data
    }
  }
}

async function recipePage(id) {
  let recipe = await api(`/v6/recipes/${id}/`);
  const rev = recipe.recipe_type_rev;
  const type = await api(`/v6/recipe-types/${encodeURIComponent(recipe.recipe_type.name)}/revisions/${rev.revision_num}/`);
  const holder = h("div", { id: "graph-holder" });
  const summary = h("p", { id: "recipe-summary" });
  const live = h("span", { id: "live", class: "muted", "data-mode": "" });
  const mode = (m, text) => { live.dataset.mode = m; live.textContent = text; };
  const paint = () => {
    holder.replaceChildren(drawGraph(graphOf(type.definition), nodeStates(recipe)));
    summary.replaceChildren(badge(recipeStatus(recipe)), ` ${recipe.jobs_completed} of ${recipe.jobs_total} jobs completed · created ${recipe.created}`,
      recipe.superseded_by_recipe ? [" · superseded by ", link(`#/recipes/${recipe.superseded_by_recipe.id}`, `recipe ${recipe.superseded_by_recipe.id}`)] : "", " · ", live);
  };
  const finished = () => ["COMPLETED", "FAILED", "CANCELED"].includes(recipeStatus(recipe));
  // Polling only when the event stream fails or ends early.
  const poll = () => {
    mode("polling", "polling every second");
    every(1000, async () => {
      recipe = await api(`/v6/recipes/${id}/`);
      paint();
      return !finished();
    });
  };
  paint();
  if (finished()) mode("done", "finished");
  else {
    const stream = new AbortController();
    onLeave(() => stream.abort());
    mode("events", "live (server-sent events)");
    follow(`/v6/recipes/${id}/events/`, (name, data) => {
      if (name !== "recipe") throw new Error(data.detail || "the recipe's updates stopped");
      recipe = data;
      paint();
    }, stream.signal).then(() => {
      if (finished()) mode("done", "finished");
      else poll();
    }, () => { if (!stream.signal.aborted) poll(); });
  }
  const cancel = h("button", { id: "cancel-recipe", onclick: async () => { recipe = await api(`/v6/recipes/${id}/cancel/`, { method: "POST", body: {} }); paint(); } }, "Cancel");
  const reprocess = h("button", { id: "reprocess-recipe", onclick: async () => {
    const fresh = await api(`/v6/recipes/${id}/reprocess/`, { method: "POST", body: { forced_nodes: { all: true } } });
    location.hash = `#/recipes/${fresh.id}`;
  } }, "Reprocess");
  return [h("h1", {}, `Recipe ${recipe.id} `, h("span", { class: "muted" }, `${recipe.recipe_type.title || recipe.recipe_type.name} · revision ${rev.revision_num}`)),
    summary, h("p", {}, cancel, reprocess), legend(STATE_COLOURS, "states"), holder, h("h2", {}, "Input"), json(recipe.input)];
}

// ---- routing ---------------------------------------------------------------

const ROUTES = [
  [/^#\/services\/([^/?]+)$/, (m, q) => servicePage(m[1], q)],
  [/^#\/services$/, () => servicesPage()],
  [/^#\/jobs\/([^/?]+)$/, (m) => jobPage(m[1])],
  [/^#\/jobs$/, (m, q) => jobsPage(q)],
  [/^#\/recipe-types\/([^/?]+)$/, (m, q) => recipeTypePage(decodeURIComponent(m[1]), q)],
  [/^#\/recipe-types$/, () => recipeTypesPage()],
  [/^#\/recipes\/(\d+)$/, (m) => recipePage(m[1])],
  [/^#\/recipes$/, () => recipesPage()],
];

async function route() {
  generation += 1;
  leaving.forEach((stop) => stop());
  leaving = [];
  const mine = generation;
  const [path, query] = (location.hash || "#/services").split("?");
  const found = ROUTES.find(([re]) => re.test(path));
  view.setAttribute("data-loading", "true");
  try {
    const content = found ? await found[1](path.match(found[0]), new URLSearchParams(query || "")) : [h("h1", {}, "Not found")];
    if (mine !== generation) return;
    showError(null);
    view.replaceChildren(...content.flat().filter((c) => c !== null && c !== undefined && c !== ""));
  } catch (e) {
    if (mine === generation) showError(e.message);
  } finally {
    if (mine === generation) view.removeAttribute("data-loading");
  }
}

document.getElementById("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  document.getElementById("signin").hidden = true;
  showAuth();
  route();
});
window.addEventListener("hashchange", route);
showAuth();
route();
