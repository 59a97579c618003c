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
// Live recipe states: the recipe page polls GET /v6/recipes/{id}/ every second
// while the recipe is not finished (no new gateway route; an SSE relay of
// WatchRecipe can replace the poll later without changing the page).
"use strict";

const TOKEN_KEY = "brigade-token";
const SVG_NS = "http://www.w3.org/2000/svg";
const view = document.getElementById("view");
let timers = [];
let generation = 0;

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
const table = (head, rows) => h("table", {}, h("tr", {}, head.map((c) => h("th", {}, c))), rows);

function every(ms, fn) {
  const mine = generation;
  const tick = async () => {
    if (mine !== generation) return;
    let more = true;
    try { more = (await fn()) !== false; } catch (e) { showError(e.message); }
    if (more && mine === generation) timers.push(setTimeout(tick, ms));
  };
  timers.push(setTimeout(tick, ms));
}

// ---- services --------------------------------------------------------------

const STATUSES = ["REGISTERED", "WORKING", "COMPLETED", "ERROR"];

async function servicesPage() {
  const list = await api("/services");
  const details = await Promise.all(list.data.map((s) => api(`/services/${s.id}`)));
  const rows = details.map(({ data: s, links }) => {
    const counts = Object.fromEntries(STATUSES.map((st) => [st, 0]));
    for (const job of s.jobs) counts[job.status] = (counts[job.status] || 0) + 1;
    const more = links && links.next ? "+" : "";
    return h("tr", { class: "service", "data-id": s.id },
      h("td", {}, link(`#/services/${s.id}`, s.name), h("div", { class: "muted" }, s.description)),
      h("td", {}, s.version, " r", s.revision),
      STATUSES.map((st) => h("td", { class: "count", "data-status": st }, counts[st] + more)),
      h("td", {}, s.paused ? badge("PAUSED") : "running",
        s.max_concurrency === null ? "" : ` · limit ${s.max_concurrency}`),
      h("td", {}, s.has_timed_out ? badge("TIMED OUT") : `checked in within ${s.timeout}s`,
        s.is_service_available ? "" : " · unavailable"));
  });
  return [h("h1", {}, "Services"),
    table(["service", "version", ...STATUSES, "claims", "last check-in"], rows)];
}

async function servicePage(id, query) {
  const service = (await api(`/services/${id}`)).data;
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
  const next = local(jobs.links && jobs.links.next);
  const nextToken = next && new URLSearchParams(next.split("?")[1]).get("page_token");
  const rows = jobs.data.map((j) => h("tr", { class: "job", "data-id": j.id },
    h("td", {}, link(`#/jobs/${j.id}`, j.id)), h("td", {}, badge(j.status)), h("td", {}, j.date_submitted)));
  const bulk = (action) => h("button", { id: `bulk-${action}`, onclick: async () => {
    const statuses = status ? [status] : action === "retry" ? ["ERROR"] : ["REGISTERED", "WORKING"];
    const answer = await api(`/services/${id}/jobs/${action}`, { method: "POST", body: { status: statuses } });
    showError(`${action}: ${answer.data.count} job(s)`);
    route();
  } }, `${action === "cancel" ? "Cancel" : "Retry"} ${status || (action === "retry" ? "ERROR" : "queued and working")} jobs`);
  return [h("h1", {}, "Service ", service.name),
    h("p", {}, service.description, " · ", service.paused ? badge("PAUSED") : "running",
      service.max_concurrency === null ? "" : ` · at most ${service.max_concurrency} working`,
      ` · max ${service.max_attempts} attempts · lease ${service.lease_seconds}s`),
    h("p", {}, h("button", { id: "pause", onclick: async () => {
      await api(`/services/${id}`, { method: "PATCH", body: { paused: !service.paused } });
      route();
    } }, service.paused ? "Resume" : "Pause")),
    h("p", {}, "Filter: ", filter, " ", bulk("cancel"), bulk("retry")),
    table(["job", "status", "submitted"], rows),
    h("p", {}, token ? h("button", { onclick: () => history.back() }, "Previous page") : null,
      nextToken ? link(`#/services/${id}?` + new URLSearchParams({ ...(status ? { status } : {}), page_token: nextToken }), "Next page") : null)];
}

// ---- jobs ------------------------------------------------------------------

async function jobPage(id) {
  const job = (await api(`/jobs/${id}`)).data;
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
      h("tr", {}, h("th", {}, "service"), h("td", {}, link(`#/services/${job.service_id}`, job.service_id))),
      h("tr", {}, h("th", {}, "submitted"), h("td", {}, job.date_submitted)),
      h("tr", {}, h("th", {}, "attempts"), h("td", {}, `${job.attempts} of ${job.max_attempts}`)),
      h("tr", {}, h("th", {}, "priority"), h("td", {}, job.priority)),
      h("tr", {}, h("th", {}, "progress"), h("td", {}, progress)),
      h("tr", {}, h("th", {}, "error"), h("td", {}, job.error_message || job.cancel_reason || "—")),
      job.recipe_id ? h("tr", {}, h("th", {}, "recipe"), h("td", {}, link(`#/recipes/${job.recipe_id}`, `recipe ${job.recipe_id}`), ` node ${job.recipe_node}`)) : null,
    ]),
    h("p", {}, act("cancel", "Cancel"), act("retry", "Retry")),
    h("h2", {}, "Parameters"), json(job.parameters),
    h("h2", {}, "Results"), json(job.results),
    h("h2", {}, "Attempts"), table(["#", "worker", "claimed", "finished", "outcome", "error"], attempts)];
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

// The graph as SVG; `states` (node name → {status, job_id}) colours it.
function drawGraph(definition, states) {
  const graph = graphOf(definition);
  const { pos, W, H, width, height } = layout(graph);
  const root = svg("svg", { class: "graph", id: "graph", width, height, viewBox: `0 0 ${width} ${height}` });
  for (const e of graph.edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    root.append(svg("path", { class: "edge", "data-from": e.from, "data-to": e.to, d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, "marker-end": "url(#arrow)" }));
    if (e.label) root.append(svg("text", { class: "label", x: mx, y: (y1 + y2) / 2 - 4, "text-anchor": "middle" }, e.label));
  }
  root.prepend(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
    svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#94a3b8" }))));
  for (const n of graph.nodes) {
    const p = pos[n.name];
    const state = states && states[n.name];
    const status = state ? state.status : null;
    const fill = status ? STATE_COLOURS[status] || "#fff" : KIND_COLOURS[n.kind] || "#fff";
    const g = svg("g", { class: "node", "data-node": n.name, "data-kind": n.kind, "data-state": status || "" },
      svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: n.kind === "condition" ? 16 : 5, fill, stroke: n.kind === "recipe" ? "#7c3aed" : "#64748b", "stroke-dasharray": n.kind === "input" ? "4 3" : "none" }),
      svg("text", { x: p.x + 8, y: p.y + 18, "font-weight": 600 }, n.name),
      svg("text", { x: p.x + 8, y: p.y + 36, class: "label" }, status ? `${n.caption} · ${status}` : n.caption));
    if (state && state.job_id) {
      const a = svg("a", { href: `#/jobs/${state.job_id}`, class: "job-link" });
      a.append(g);
      root.append(a);
    } else root.append(g);
  }
  return root;
}

// ---- recipe types ----------------------------------------------------------

async function recipeTypesPage() {
  const page = await api("/v6/recipe-types/?page_size=1000");
  const rows = page.results.map((t) => h("tr", { class: "recipe-type" },
    h("td", {}, link(`#/recipe-types/${t.name}`, t.title)), h("td", {}, t.name),
    h("td", {}, t.revision_num), h("td", {}, t.is_active ? "active" : "inactive"), h("td", {}, t.description || "")));
  return [h("h1", {}, "Recipe types"), table(["title", "name", "revision", "", "description"], rows)];
}

async function recipeTypePage(name) {
  const type = await api(`/v6/recipe-types/${encodeURIComponent(name)}/`);
  const legend = h("p", { class: "legend" }, Object.entries(KIND_COLOURS).map(([k, c]) =>
    h("span", {}, h("span", { class: "badge", style: `background:${c}` }, k))));
  return [h("h1", {}, type.title, " ", h("span", { class: "muted" }, `${type.name} · revision ${type.revision_num}`)),
    h("p", {}, type.description || ""), legend, drawGraph(type.definition, null),
    h("h2", {}, "Definition"), json(type.definition)];
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

async function recipePage(id) {
  let recipe = await api(`/v6/recipes/${id}/`);
  const rev = recipe.recipe_type_rev;
  const type = await api(`/v6/recipe-types/${encodeURIComponent(recipe.recipe_type.name)}/revisions/${rev.revision_num}/`);
  const holder = h("div", { id: "graph-holder" });
  const summary = h("p", { id: "recipe-summary" });
  const paint = () => {
    holder.replaceChildren(drawGraph(type.definition, nodeStates(recipe)));
    summary.replaceChildren(badge(recipeStatus(recipe)), ` ${recipe.jobs_completed} of ${recipe.jobs_total} jobs completed · created ${recipe.created}`,
      recipe.superseded_by_recipe ? [" · superseded by ", link(`#/recipes/${recipe.superseded_by_recipe.id}`, `recipe ${recipe.superseded_by_recipe.id}`)] : "");
  };
  paint();
  // Polled until the recipe is finished (a cancel from this page ends it too).
  const finished = () => ["COMPLETED", "FAILED", "CANCELED"].includes(recipeStatus(recipe));
  every(1000, async () => {
    if (finished()) return false;
    recipe = await api(`/v6/recipes/${id}/`);
    paint();
    return !finished();
  });
  const cancel = h("button", { id: "cancel-recipe", onclick: async () => { recipe = await api(`/v6/recipes/${id}/cancel/`, { method: "POST", body: {} }); paint(); } }, "Cancel");
  const reprocess = h("button", { id: "reprocess-recipe", onclick: async () => {
    const fresh = await api(`/v6/recipes/${id}/reprocess/`, { method: "POST", body: { forced_nodes: { all: true } } });
    location.hash = `#/recipes/${fresh.id}`;
  } }, "Reprocess");
  return [h("h1", {}, `Recipe ${recipe.id} `, h("span", { class: "muted" }, `${recipe.recipe_type.title || recipe.recipe_type.name} · revision ${rev.revision_num}`)),
    summary, h("p", {}, cancel, reprocess), holder, h("h2", {}, "Input"), json(recipe.input)];
}

// ---- routing ---------------------------------------------------------------

const ROUTES = [
  [/^#\/services\/([^/?]+)$/, (m, q) => servicePage(m[1], q)],
  [/^#\/services$/, () => servicesPage()],
  [/^#\/jobs\/([^/?]+)$/, (m) => jobPage(m[1])],
  [/^#\/recipe-types\/([^/?]+)$/, (m) => recipeTypePage(decodeURIComponent(m[1]))],
  [/^#\/recipe-types$/, () => recipeTypesPage()],
  [/^#\/recipes\/(\d+)$/, (m) => recipePage(m[1])],
  [/^#\/recipes$/, () => recipesPage()],
];

async function route() {
  generation += 1;
  timers.forEach(clearTimeout);
  timers = [];
  const mine = generation;
  const [path, query] = (location.hash || "#/services").split("?");
  const found = ROUTES.find(([re]) => re.test(path));
  view.setAttribute("data-loading", "true");
  try {
    const content = found ? await found[1](path.match(found[0]), new URLSearchParams(query || "")) : [h("h1", {}, "Not found")];
    if (mine !== generation) return;
    showError(null);
    view.replaceChildren(...content);
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
