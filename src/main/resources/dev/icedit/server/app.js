// The playground page: plain DOM calls over the server's JSON API. Text from the model or the user is only ever
// set with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const CUSTOM = "__custom__";
let token = sessionStorage.getItem("icedit-token") || tokenFromHash();
let methods = [];

function tokenFromHash() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, "", location.pathname); // keep the token out of the address bar
    return decodeURIComponent(m[1]);
  }
  return null;
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

class ApiError extends Error {
  constructor(status, message, body) { super(message); this.status = status; this.body = body; }
}

async function api(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || ("HTTP " + res.status), data);
  return data;
}

function showError(e) {
  const el = $("error");
  if (!e) { el.hidden = true; el.textContent = ""; return; }
  el.hidden = false;
  el.textContent = e.message || String(e);
  if (e.status === 401) $("token-form").hidden = false;
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

// A probability as a percentage: one decimal, or three significant digits when it is small (0.000123%).
function pct(p) {
  if (p === undefined || p === null) return "";
  const v = 100 * p;
  return (v === 0 ? "0" : v >= 0.1 ? v.toFixed(1) : v.toPrecision(3)) + "%";
}

// ---- model information, methods, token ----

async function loadModel() {
  try {
    const m = await api("GET", "/api/model");
    $("model-info").textContent = m.name + ": " + m.model_type + ", " + m.layers + " layers, " +
      (m.parameters / 1e6).toFixed(1) + "M parameters, " + m.edits_applied + " edit(s) applied";
    $("token-form").hidden = true;
    showError(null);
    return true;
  } catch (e) {
    showError(e);
    return false;
  }
}

async function loadMethods() {
  const data = await api("GET", "/api/methods");
  methods = data.methods;
  $("edit-unrelated").value = data.default_unrelated_prompts.join("\n");
  const select = $("edit-method");
  select.replaceChildren();
  for (const m of methods) {
    const o = el("option", m.name);
    o.value = m.name;
    o.title = m.description;
    select.appendChild(o);
  }
  fillPresets();
}

function fillPresets() {
  const m = methods.find((x) => x.name === $("edit-method").value);
  const select = $("edit-preset");
  select.replaceChildren();
  if (m && !m.presets.includes(m.preset_for_model)) {
    // no shipped preset fits this model: the server derives one from its shape (hparams left out)
    const d = el("option", "preset: derived for this model");
    d.value = "";
    d.title = m.preset_reason || "";
    d.selected = true;
    select.appendChild(d);
  }
  for (const p of (m ? m.presets : [])) {
    const o = el("option", "preset: " + p + (p === m.preset_for_model ? " (matches this model)" : ""));
    o.value = p;
    if (p === m.preset_for_model) o.selected = true;
    select.appendChild(o);
  }
  const custom = el("option", "custom (JSON)");
  custom.value = CUSTOM;
  select.appendChild(custom);
  if (!m) custom.selected = true;
  $("edit-hparams").hidden = select.value !== CUSTOM;
}

// ---- asking ----

async function ask(event) {
  if (event) event.preventDefault();
  const prompt = $("prompt").value;
  const button = $("generate");
  button.disabled = true;
  try {
    const [gen, next] = await Promise.all([
      api("POST", "/api/generate", {
        prompt, max_new_tokens: Number($("max-new-tokens").value), temperature: Number($("temperature").value),
      }),
      api("POST", "/api/next-tokens", { prompt, k: 8 }),
    ]);
    $("continuation-prompt").textContent = prompt;
    $("continuation").textContent = gen.continuation;
    const body = $("next-tokens").tBodies[0];
    body.replaceChildren();
    for (const t of next.tokens) {
      const row = el("tr");
      row.appendChild(el("td")).appendChild(el("code", JSON.stringify(t.text)));
      const bar = row.appendChild(el("td", null, "bar")).appendChild(el("div", null, "fill"));
      bar.style.width = Math.max(1, 100 * t.probability) + "%";
      row.appendChild(el("td", pct(t.probability)));
      body.appendChild(row);
    }
    showError(null);
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

// ---- editing ----

function lines(id) { return $(id).value.split("\n").map((s) => s.trim()).filter((s) => s.length > 0); }

async function submitEdit(event) {
  event.preventDefault();
  const body = {
    method: $("edit-method").value,
    prompt: $("edit-prompt").value,
    target: $("edit-target").value,
    unrelated: lines("edit-unrelated"),
  };
  if ($("edit-subject").value.trim()) body.subject = $("edit-subject").value.trim();
  const context = lines("edit-context");
  if (context.length) body.context = context;
  if ($("edit-rephrase").value.trim()) body.rephrases = [$("edit-rephrase").value.trim()];
  if ($("edit-preset").value === CUSTOM) {
    try {
      body.hparams = JSON.parse($("edit-hparams").value);
    } catch (e) {
      showError(new Error("custom hyper-parameters are not valid JSON: " + e.message));
      return;
    }
  } else if ($("edit-preset").value) {
    body.hparams = $("edit-preset").value;
  }
  $("edit-submit").disabled = true;
  try {
    const job = await api("POST", "/api/edits", body);
    showError(null);
    losses = [];
    drawChart();
    setStatus(job);
    await follow(job.id);
  } catch (e) {
    showError(e);
  } finally {
    $("edit-submit").disabled = false;
  }
}

let losses = [];
let lastJob = null;
const revertedEdits = new Set();

function setStatus(job) {
  lastJob = job;
  const s = $("job-status");
  s.dataset.status = job.status;
  let text = "Job " + job.id + ": " + job.status;
  if (job.phase) text += " (" + job.phase + ")";
  if (job.total_steps) text += ", step " + job.step + " of " + job.total_steps;
  if (losses.length) text += ", loss " + losses[losses.length - 1].toFixed(4);
  if (job.error) text += ": " + job.error;
  if (job.result) {
    text += ", edit " + job.result.edit_id + " applied in " + job.result.seconds.toFixed(1) + " s";
    if (revertedEdits.has(job.result.edit_id)) text += " (since reverted)";
  }
  s.textContent = text;
  s.dataset.reverted = job.result && revertedEdits.has(job.result.edit_id) ? "true" : "false";
}

// Follows a job's server-sent events through fetch (EventSource cannot send the token), falling back to polling.
async function follow(id) {
  let job = { id, status: "queued" };
  try {
    const res = await fetch("/api/jobs/" + id + "/events", { headers: headers({ Accept: "text/event-stream" }) });
    if (!res.ok || !res.body) throw new Error("no event stream");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const ev = parseEvent(block);
        if (!ev) continue;
        if (ev.name === "progress") {
          losses.push(ev.data.loss);
          job.step = ev.data.step;
          job.total_steps = ev.data.total_steps;
          drawChart();
        } else if (ev.name === "phase") {
          job.phase = ev.data.phase;
        } else {
          job = ev.data;
        }
        setStatus(job);
        if (ev.name === "done") return finished(job);
      }
    }
  } catch (e) {
    // fall through to polling
  }
  for (;;) {
    job = await api("GET", "/api/jobs/" + id);
    losses = job.loss_per_step;
    drawChart();
    setStatus(job);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return finished(job);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  return { name, data: JSON.parse(data.join("\n")) };
}

async function finished(job) {
  setStatus(job);
  if (job.status !== "succeeded") {
    showError(new Error("edit " + job.status + (job.error ? ": " + job.error : "")));
    return;
  }
  renderComparison(job.result);
  await loadJournal();
  await loadModel();
  $("prompt").value = job.requests[0].prompt;
  await ask();
}

// What an answer after the edit means: for the edited prompt and rephrases, the target taking is the success;
// for an unrelated prompt, any change is a failure, and is never shown in the colour of success.
function verdict(r) {
  if (r.kind === "unrelated") {
    return r.continuation_changed ? ["disturbed", "an unrelated answer changed"] : ["same", "unchanged, as it should be"];
  }
  if (r.after.target_is_greedy) return ["took", "the target is now the greedy answer"];
  return r.continuation_changed ? ["changed", "changed, but the target is not the greedy answer"]
    : ["same", "unchanged: the edit did not take here"];
}

function renderComparison(result) {
  const body = $("comparison").tBodies[0];
  body.replaceChildren();
  for (const r of result.comparisons) {
    const tr = el("tr");
    tr.dataset.kind = r.kind;
    tr.appendChild(el("td", r.kind));
    tr.appendChild(el("td", r.prompt + (r.target ? "  \u2192 " + r.target : "")));
    tr.appendChild(el("td", r.before.continuation, "before"));
    const [cls, meaning] = verdict(r);
    const after = tr.appendChild(el("td", r.after.continuation, "after " + cls));
    after.title = meaning;
    tr.appendChild(el("td", r.target ? pct(r.before.target_probability) + " \u2192 " + pct(r.after.target_probability) : ""));
    body.appendChild(tr);
  }
  const left = result.unrelated_left_out || [];
  $("comparison-note").textContent = left.length
    ? "Left out of the unrelated prompts because they are about the edit: " + left.join("; ") : "";
}

function drawChart() {
  const svg = $("loss-chart");
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const W = 400, H = 120, L = 36, B = 16, T = 8;
  if (!losses.length) return;
  const max = Math.max(...losses), min = Math.min(...losses);
  const span = max - min || 1;
  const x = (i) => L + (losses.length === 1 ? 0 : (i / (losses.length - 1)) * (W - L - 6));
  const y = (v) => T + (1 - (v - min) / span) * (H - T - B);
  const axis = document.createElementNS(ns, "line");
  axis.setAttribute("x1", L); axis.setAttribute("x2", W); axis.setAttribute("y1", H - B); axis.setAttribute("y2", H - B);
  svg.appendChild(axis);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", losses.map((v, i) => x(i).toFixed(1) + "," + y(v).toFixed(1)).join(" "));
  svg.appendChild(line);
  for (const [v, py] of [[max, T + 8], [min, H - B]]) {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", 2); t.setAttribute("y", py);
    t.textContent = v.toFixed(3);
    svg.appendChild(t);
  }
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", L); label.setAttribute("y", H - 3);
  label.textContent = "loss over " + losses.length + " step(s)";
  svg.appendChild(label);
}

// ---- journal ----

async function loadJournal() {
  const data = await api("GET", "/api/edits");
  const body = $("journal").tBodies[0];
  body.replaceChildren();
  for (const e of data.edits) {
    const tr = el("tr");
    tr.dataset.edit = e.id;
    tr.dataset.status = e.status;
    if (e.status === "reverted") revertedEdits.add(e.id);
    tr.appendChild(el("td", e.id));
    const status = tr.appendChild(el("td", e.status, "status " + e.status));
    if (e.reverted_at) status.title = "reverted at " + e.reverted_at + (e.reverted_with ? " with " + e.reverted_with : "");
    tr.appendChild(el("td", e.method));
    tr.appendChild(el("td", e.requests.map((r) => r.prompt + " \u2192 " + r.target).join("; ")));
    const l = e.loss_per_step;
    tr.appendChild(el("td", l.length ? l[0].toFixed(3) + " \u2192 " + l[l.length - 1].toFixed(3) : ""));
    const actions = tr.appendChild(el("td"));
    if (e.status !== "applied") {
      body.appendChild(tr);
      continue;
    }
    const revert = actions.appendChild(el("button", "Revert", "small revert"));
    revert.type = "button";
    revert.addEventListener("click", () => revertEdit(e));
    const patch = actions.appendChild(el("button", "Patch", "small"));
    patch.type = "button";
    patch.title = "download this edit as a reversible patch file";
    patch.addEventListener("click", () => downloadPatch(e.id));
    body.appendChild(tr);
  }
  if (lastJob) setStatus(lastJob);
}

async function revertEdit(e) {
  let cascade = false;
  if (e.blocked_by.length) {
    cascade = confirm("Later edits " + e.blocked_by.join(", ") + " changed the same weights. Revert them too?");
    if (!cascade) return;
  }
  try {
    await api("POST", "/api/edits/" + encodeURIComponent(e.id) + "/revert" + (cascade ? "?cascade=true" : ""));
    showError(null);
    await loadJournal();
    await loadModel();
    await ask();
  } catch (err) {
    showError(err);
  }
}

async function downloadPatch(id) {
  try {
    const res = await fetch("/api/edits/" + encodeURIComponent(id) + "/patch", { headers: headers() });
    if (!res.ok) throw new ApiError(res.status, (await res.json()).error);
    const url = URL.createObjectURL(await res.blob());
    const a = el("a");
    a.href = url;
    a.download = "icedit-" + id + ".patch.safetensors";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    showError(e);
  }
}

async function save(event) {
  event.preventDefault();
  const name = $("save-name").value.trim();
  $("save-status").textContent = "saving...";
  try {
    const r = await api("POST", "/api/save", { name });
    $("save-status").textContent = "saved as " + r.name + " (" + r.edits.length + " edit(s))";
  } catch (e) {
    $("save-status").textContent = "";
    showError(e);
  }
}

// ---- start ----

async function start() {
  if (!(await loadModel())) return;
  try {
    await loadMethods();
    await loadJournal();
  } catch (e) {
    showError(e);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", ask);
  $("edit-form").addEventListener("submit", submitEdit);
  $("save-form").addEventListener("submit", save);
  $("edit-method").addEventListener("change", fillPresets);
  $("edit-preset").addEventListener("change", () => { $("edit-hparams").hidden = $("edit-preset").value !== CUSTOM; });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value;
    sessionStorage.setItem("icedit-token", token);
    start();
  });
  start();
});
