// The deployer's dashboard: reads GET /status and draws it. No framework, no network but this origin (the
// Content-Security-Policy forbids the rest). Refreshes every second while a rollout runs, every five otherwise.
"use strict";

const TOKEN_KEY = "deployer-admin-token";
const FAST_MS = 1000;
const SLOW_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";
let timer = null;

const $ = (id) => document.getElementById(id);

function el(tag, props, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children || []) node.append(child);
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// .NET TimeSpan JSON ("00:01:02.5000000" or "1.02:03:04") to seconds.
function seconds(span) {
  if (span === null || span === undefined) return null;
  if (typeof span === "number") return span;
  const m = /^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(span);
  if (!m) return null;
  return (Number(m[1] || 0) * 86400) + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

function duration(s) {
  if (s === null || s === undefined) return "…";
  if (s < 10) return s.toFixed(1) + " s";
  if (s < 120) return Math.round(s) + " s";
  const minutes = Math.floor(s / 60);
  return minutes < 120 ? `${minutes} min ${Math.round(s % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function ago(iso) {
  if (!iso) return "—";
  const s = (Date.now() - new Date(iso).getTime()) / 1000;
  const when = new Date(iso).toLocaleString();
  return s < 0 ? when : `${duration(s)} ago (${when})`;
}

const shortDigest = (d) => (d ? d.replace(/^sha256:/, "").slice(0, 12) : "—");
const num = (v) => (typeof v === "number" ? v.toFixed(3) : "—");

function outcomeClass(outcome) {
  return outcome === "Succeeded" ? "ok" : outcome ? "bad" : "run";
}

function running(status) {
  const newest = (status.history || [])[0];
  return Boolean(status.rolloutInProgress || status.rolloutPhase || (newest && !newest.outcome && !newest.interrupted));
}

function renderHeader(status) {
  $("tracked-image").textContent = status.trackedImage || "";
  $("strategy").textContent = status.strategy || "";
  $("mode").textContent = (status.mode || "") + (status.paused ? " (paused)" : "");
  $("updated").textContent = new Date().toLocaleTimeString();
}

function renderWarnings(status) {
  const list = $("warnings");
  const warnings = status.warnings || [];
  list.replaceChildren(...warnings.map((w) => el("li", {
    class: ["crash-loop", "edge-unreachable", "quarantined"].includes(w.kind) ? "bad" : "",
    "data-kind": w.kind,
    text: `${w.kind}: ${w.message}`,
  })));
  if (warnings.length === 0) list.append(el("li", { text: "none" }));
  $("warnings-card").dataset.empty = String(warnings.length === 0);
}

function renderLive(status) {
  const live = status.live || {};
  $("live-slot").textContent = live.slot || (status.strategy === "Recreate" ? "(single container)" : "—");
  $("live-version").textContent = [live.modelVersion, live.imageVersion && `image ${live.imageVersion}`].filter(Boolean).join(" · ") || "—";
  $("live-digest").textContent = live.digest || "—";
  $("live-digest").title = live.container || "";
  $("live-since").textContent = ago(live.since);
  $("registry-digest").textContent = status.registryDigest || "—";
  $("last-check").textContent = status.lastCheck ? `${ago(status.lastCheck)}: ${status.lastCheckResult || ""}` : "—";
}

function stepItem(step) {
  return el("li", { class: step.outcome, "data-step": step.name }, [
    el("span", { text: step.name }),
    el("span", { text: step.outcome === "Running" ? "running" : `${duration(seconds(step.duration))}${step.outcome === "Failed" ? " ✗" : ""}` }),
  ]);
}

function renderCandidate(status) {
  const newest = (status.history || [])[0];
  const active = newest && !newest.outcome && !newest.interrupted ? newest : null;
  const current = active ? [...active.steps].reverse().find((s) => s.outcome === "Running") : null;
  const phase = current ? current.name : status.rolloutPhase || (status.rolloutInProgress ? "starting" : "none");
  const pill = $("candidate-phase");
  pill.textContent = phase;
  pill.className = "pill " + (phase === "none" ? "" : "run");
  pill.dataset.rollout = active ? active.id : "";
  const where = [status.candidateSlot && `slot ${status.candidateSlot}`, status.rolloutPhase && `phase ${status.rolloutPhase}`,
    active && `${active.kind} ${shortDigest(active.digest)}`].filter(Boolean);
  $("candidate-slot").textContent = where.join(" · ");
  $("candidate-steps").replaceChildren(...(active ? active.steps.map(stepItem) : []));
}

// The bootstrap interval and the slices arrive with the shadow gate; their field names are read loosely so that
// the report as it is today (candidate and live RMSE) and the richer one both draw.
function intervalOf(report) {
  // The labelled gate's paired bootstrap: RMSE(candidate) - RMSE(live) at its confidence, drawn on the candidate's
  // RMSE axis as live + [lower, upper].
  const d = report.rmseDifference;
  if (d && typeof d.lower === "number" && typeof d.upper === "number" && report.live && typeof report.live.rmse === "number") {
    return { low: report.live.rmse + d.lower, high: report.live.rmse + d.upper, level: d.confidence };
  }
  const raw = report.interval || report.rmseInterval || report.rmseDeltaInterval || (report.candidate || {}).rmseInterval
    || (report.bootstrap || {}).interval || null;
  if (!raw) return null;
  const low = Array.isArray(raw) ? raw[0] : raw.low ?? raw.lower;
  const high = Array.isArray(raw) ? raw[1] : raw.high ?? raw.upper;
  return typeof low === "number" && typeof high === "number" ? { low, high, level: raw.level ?? raw.confidence } : null;
}

function slicesOf(report) {
  const raw = report.slices || report.sliceReports || [];
  return raw.map((s) => ({
    name: s.name || s.slice || [s.feature, s.value].filter(Boolean).join("=") || "slice",
    candidate: s.candidateRmse ?? (s.candidate || {}).rmse,
    live: s.liveRmse ?? (s.live || {}).rmse,
    refused: s.regressed === true || s.refused === true || s.passed === false || s.result === "refused",
  })).filter((s) => typeof s.candidate === "number");
}

function drawChart(report) {
  const rows = [{ name: "golden set", candidate: report.candidate && report.candidate.rmse, live: report.live && report.live.rmse, refused: !report.passed && report.result === "refused" }]
    .concat(slicesOf(report));
  const interval = intervalOf(report);
  const values = rows.flatMap((r) => [r.candidate, r.live]).filter((v) => typeof v === "number");
  if (interval && interval.high > 0) values.push(interval.high);
  if (values.length === 0) return null;
  const max = Math.max(...values) * 1.1;
  const labelW = 110, width = 500, barH = 10, rowH = 30, top = 18;
  const plotW = width - labelW - 50;
  const height = top + rows.length * rowH + 10;
  const x = (v) => labelW + (v / max) * plotW;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "candidate and live RMSE" });
  chart.append(svg("rect", { x: labelW, y: 2, width: 10, height: 8, class: "candidate" }), svg("text", { x: labelW + 14, y: 10 }, "candidate RMSE"));
  chart.append(svg("rect", { x: labelW + 130, y: 2, width: 10, height: 8, class: "live" }), svg("text", { x: labelW + 144, y: 10 }, "live RMSE"));
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    chart.append(svg("text", { x: 0, y: y + barH + 4 }, row.name.length > 18 ? row.name.slice(0, 17) + "…" : row.name));
    chart.append(svg("line", { x1: labelW, x2: labelW, y1: y, y2: y + 2 * barH + 2, class: "axis" }));
    if (typeof row.candidate === "number") {
      chart.append(svg("rect", { x: labelW, y, width: Math.max(1, x(row.candidate) - labelW), height: barH, class: row.refused ? "refused" : "candidate", "data-series": "candidate", "data-row": i === 0 ? "overall" : "slice" }));
      chart.append(svg("text", { x: x(row.candidate) + 4, y: y + barH - 1 }, row.candidate.toFixed(3)));
    }
    if (typeof row.live === "number") {
      chart.append(svg("rect", { x: labelW, y: y + barH + 2, width: Math.max(1, x(row.live) - labelW), height: barH, class: "live", "data-series": "live", "data-row": i === 0 ? "overall" : "slice" }));
      chart.append(svg("text", { x: x(row.live) + 4, y: y + 2 * barH + 1 }, row.live.toFixed(3)));
    }
    if (i === 0 && interval && interval.low > 0 && typeof row.candidate === "number" && interval.low <= row.candidate && row.candidate <= interval.high) {
      chart.append(svg("line", { x1: x(interval.low), x2: x(interval.high), y1: y + barH / 2, y2: y + barH / 2, class: "interval", "data-series": "interval" }));
    }
  });
  return chart;
}

function renderGate(status) {
  const report = status.qualityGate;
  const result = $("gate-result");
  const reasons = $("gate-reasons");
  if (!report) {
    result.textContent = "no report";
    result.className = "pill";
    $("gate-chart").replaceChildren();
    reasons.replaceChildren();
    return;
  }
  result.textContent = report.result;
  result.className = "pill " + (report.result === "passed" ? "ok" : "bad");
  const candidate = report.candidate ? `${report.candidate.modelVersion} RMSE ${num(report.candidate.rmse)}` : "no candidate figures";
  const live = report.live ? `against ${report.live.modelVersion} RMSE ${num(report.live.rmse)}` : report.liveNote || "";
  $("gate-when").textContent = `${candidate} ${live} · ${report.rows} rows · ${ago(report.evaluatedAt)}`;
  const chart = drawChart(report);
  $("gate-chart").replaceChildren(...(chart ? [chart] : []));
  const interval = intervalOf(report);
  reasons.replaceChildren(
    ...(interval ? [el("li", { text: `interval ${interval.level ? `(${interval.level}) ` : ""}[${num(interval.low)}, ${num(interval.high)}]` })] : []),
    ...(report.refusals || []).map((r) => el("li", { class: "refusal", text: r })),
    ...(report.warnings || []).map((w) => el("li", { class: "warning", text: w })));
}

function renderEdge(status) {
  const edge = status.edge;
  const body = $("edge-servers").tBodies[0];
  if (!edge) {
    $("edge-state").textContent = "not used (Recreate)";
    body.replaceChildren();
    return;
  }
  $("edge-state").textContent = edge.reachable ? "runtime API answers" : "runtime API does not answer";
  $("edge-state").className = edge.reachable ? "ok" : "bad";
  body.replaceChildren(...edge.servers.map((s) => el("tr", { "data-server": `${s.backend}/${s.slot}` }, [
    el("td", { text: s.backend }),
    el("td", { text: s.slot + (s.slot === status.liveSlot ? " (live)" : "") }),
    el("td", { class: s.up ? "ok" : s.status === "MAINT" ? "" : "bad", text: s.status }),
    el("td", { text: String(s.currentSessions) }),
  ])));
}

function renderHistory(status) {
  const items = (status.history || []).map((entry) => {
    const total = entry.steps.reduce((sum, s) => sum + (seconds(s.duration) || 0), 0) || 1;
    const bar = el("div", { class: "bar", role: "img", "aria-label": "steps by duration" }, entry.steps.map((s) => {
      const part = el("span", { class: s.outcome, title: `${s.name}: ${duration(seconds(s.duration))}${s.error ? " — " + s.error : ""}` });
      part.style.flexGrow = String(Math.max(seconds(s.duration) || 0, total / 100));
      return part;
    }));
    const outcome = entry.outcome || (entry.interrupted ? "Interrupted" : "Running");
    return el("li", { "data-rollout": entry.id, "data-outcome": outcome }, [
      el("div", { class: "head" }, [
        el("span", { class: "pill " + outcomeClass(entry.outcome || (entry.interrupted ? "x" : null)), text: outcome }),
        el("span", { class: "mono", text: shortDigest(entry.digest) }),
        el("span", { class: "muted", text: `${entry.kind} · ${new Date(entry.startedAt).toLocaleString()} · ${duration(seconds(entry.duration))}` +
          (entry.downtime ? ` · downtime ${duration(seconds(entry.downtime))}` : "") }),
      ]),
      entry.detail ? el("p", { class: "detail", text: entry.detail }) : "",
      bar,
      el("ul", { class: "legend" }, entry.steps.map((s) => el("li", { text: `${s.name} ${s.outcome === "Running" ? "…" : duration(seconds(s.duration))}${s.outcome === "Failed" ? " ✗" : ""}` }))),
    ]);
  });
  $("history").replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "no rollout yet" })]));
}

function render(status) {
  renderHeader(status);
  renderWarnings(status);
  renderLive(status);
  renderCandidate(status);
  renderGate(status);
  renderEdge(status);
  renderHistory(status);
  $("dashboard").hidden = false;
  $("token-form").hidden = true;
}

async function refresh() {
  clearTimeout(timer);
  const token = sessionStorage.getItem(TOKEN_KEY);
  let next = SLOW_MS;
  try {
    const response = await fetch("/status", { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: "no-store", credentials: "omit" });
    if (response.status === 401 || response.status === 403) {
      if (token) {
        sessionStorage.removeItem(TOKEN_KEY);
        $("token-error").textContent = "That token was refused.";
      }
      $("token-form").hidden = false;
      $("dashboard").hidden = true;
      $("load-error").hidden = true;
      return;
    }
    if (!response.ok) throw new Error(`GET /status answered ${response.status}`);
    const status = await response.json();
    render(status);
    $("load-error").hidden = true;
    next = running(status) ? FAST_MS : SLOW_MS;
  } catch (error) {
    $("load-error").textContent = `The deployer did not answer (${error.message}); retrying.`;
    $("load-error").hidden = false;
    next = FAST_MS * 3;
  }
  $("refresh").textContent = next === FAST_MS ? "· following the rollout" : "";
  timer = setTimeout(refresh, next);
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("token-input").value = "";
    $("token-error").textContent = "";
    refresh();
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh();
});
