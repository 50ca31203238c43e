// The dashboard's pages: each polls its JSON endpoint and redraws, so a running sweep updates without reload.
// Text from the server goes into the page as textContent only (trial errors and params are not markup).
"use strict";

const POLL_MS = 2000;        // while a sweep runs
const IDLE_POLL_MS = 10000;  // finished sweeps change only when someone chooses or resumes

async function getJSON(url) {
  const response = await fetch(url, {headers: {Accept: "application/json"}});
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function postJSON(url, body) {
  const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify(body)});
  const payload = await response.json().catch(() => ({detail: response.statusText}));
  if (!response.ok) throw new Error(payload.detail || response.statusText);
  return payload;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return String(value);
  const size = Math.abs(value);
  return size === 0 || (size >= 1e-3 && size < 1e4) ? String(Number(value.toPrecision(3))) : value.toExponential(2);
}

// The exact value, for hover text: JavaScript writes a number back as its shortest exact form.
function exact(value) {
  return value === null || value === undefined ? "" : String(value);
}

// A cell showing a value rounded, with the exact value on hover.
function valueCell(value, attrs = {}) {
  return el("td", {...attrs, title: exact(value)}, fmt(value));
}

function fmtParams(params) {
  return Object.keys(params).sort().map((path) => `${path.split(".").pop()}=${fmt(params[path])}`).join(" ");
}

function fmtBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let index = 0;
  while (bytes >= 1024 && index < units.length - 1) { bytes /= 1024; index += 1; }
  return `${bytes.toFixed(index ? 1 : 0)} ${units[index]}`;
}

function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

function fmtAgo(epochSeconds) {
  return epochSeconds ? `${fmtDuration(Date.now() / 1000 - epochSeconds)} ago` : "–";
}

function showProblem(message) {
  const problem = document.getElementById("problem");
  problem.hidden = !message;
  problem.textContent = message || "";
}

function markRefreshed() {
  document.getElementById("refreshed").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

// Draws a server-built figure; an empty box says why when there is nothing to draw yet.
function drawPlot(id, figure, emptyText) {
  const box = document.getElementById(id);
  if (!figure) {
    if (box.dataset.drawn) { Plotly.purge(box); delete box.dataset.drawn; }
    box.replaceChildren(el("p", {class: "muted empty"}, emptyText));
    return;
  }
  if (!box.dataset.drawn) box.replaceChildren();
  Plotly.react(box, figure.data, figure.layout, {displaylogo: false, responsive: true});
  box.dataset.drawn = "yes";
}

// Calls load() now and again after each answer; load returns whether the data is still changing.
function poll(load) {
  const tick = async () => {
    let active = true;
    try {
      active = await load();
      showProblem(null);
      markRefreshed();
    } catch (error) {
      showProblem(`Could not refresh: ${error.message}`);
    }
    setTimeout(tick, active ? POLL_MS : IDLE_POLL_MS);
  };
  return tick();
}

function isLive(state) { return state === "running" || state === "starting"; }

function sweepUrl(name) { return `/api/sweeps/${encodeURIComponent(name)}`; }

async function exportCheckpoint(name, body, button) {
  const result = document.getElementById("export-result");
  const buttons = document.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  result.textContent = body.merged ? "Merging and writing the model… (a big model takes minutes)" : "Exporting…";
  try {
    const answer = await postJSON(`${sweepUrl(name)}/export`, body);
    result.dataset.path = answer.path;
    result.textContent = `${answer.already_existed ? "Already exported" : "Exported"} trial ${answer.trial_id} ` +
      `step ${answer.step} ${answer.merged ? "(merged model)" : "(adapter)"} to ${answer.path}`;
  } catch (error) {
    result.textContent = `Export failed: ${error.message}`;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    button.blur();
  }
}

function sweepsPage() {
  const body = document.querySelector("#sweeps tbody");
  poll(async () => {
    const sweeps = await getJSON("/api/sweeps");
    document.getElementById("no-sweeps").hidden = sweeps.length > 0;
    body.replaceChildren(...sweeps.map((sweep) => {
      const counts = sweep.counts || {};
      const best = sweep.best_value === null || sweep.best_value === undefined ? "–"
        : `${sweep.metric} ${fmt(sweep.best_value)}`;
      return el("tr", {dataset: {sweep: sweep.name}},
        el("td", {}, el("a", {href: `/sweeps/${encodeURIComponent(sweep.name)}`}, sweep.name)),
        el("td", {class: `state ${sweep.state}`, title: sweep.error || ""}, sweep.state),
        el("td", {}, counts.total ?? "–"), el("td", {}, counts.done ?? "–"), el("td", {}, counts.running ?? "–"),
        el("td", {}, counts.stopped ?? "–"), el("td", {}, counts.failed ?? "–"), el("td", {}, best),
        el("td", {}, fmtDuration(sweep.elapsed_seconds)), el("td", {}, fmtAgo(sweep.updated_at)));
    }));
    return sweeps.some((sweep) => isLive(sweep.state));
  });
}

function leaderboardRow(name, sweep, row) {
  const trialUrl = `/sweeps/${encodeURIComponent(name)}/trials/${encodeURIComponent(row.trial_id)}`;
  const chosen = sweep.chosen && sweep.chosen.trial_id === row.trial_id;
  const wandb = row.wandb ? (row.wandb.url ? el("a", {href: row.wandb.url}, row.wandb.run_id)
    : el("span", {title: row.wandb.sync || ""}, `${row.wandb.run_id} (offline)`)) : "–";
  const choose = row.checkpoint ? el("button", {class: "small", onclick: async () => {
    // The checkpoint this row shows, so the choice matches the leaderboard's numbers.
    await postJSON(`${sweepUrl(name)}/choose`, {trial_id: row.trial_id, checkpoint: row.checkpoint})
      .catch((e) => showProblem(e.message));
    refreshSweep(name).catch((e) => showProblem(e.message));
  }}, chosen ? "chosen ✓" : "choose") : "";
  return el("tr", {dataset: {trialId: row.trial_id}, class: row.rank === 1 && row.best_value !== null ? "best" : ""},
    el("td", {}, row.rank), el("td", {}, el("a", {href: trialUrl}, row.trial_id)),
    el("td", {class: `state ${row.state}`, title: row.error || ""}, row.state),
    el("td", {title: JSON.stringify(row.params)}, fmtParams(row.params)),
    valueCell(row.best_value, {dataset: {col: "best"}}), valueCell(row.last_value, {dataset: {col: "last"}}),
    el("td", {dataset: {col: "iterations"}}, row.iterations), el("td", {}, row.stopped_early ? "yes" : ""),
    el("td", {dataset: {col: "time"}, title: `first report after ${fmtDuration(row.first_report_seconds)}`},
       fmtDuration(row.wall_seconds)),
    valueCell(row.compute, {dataset: {col: "compute"}}),
    el("td", {title: row.checkpoint || ""}, fmtBytes(row.checkpoint_bytes)), el("td", {}, wandb), el("td", {}, choose));
}

function renderSweep(name, sweep) {
  const state = document.getElementById("state");
  state.textContent = sweep.state;
  state.className = `state ${sweep.state}`;
  const c = sweep.counts;
  const budget = sweep.budget ? ` · budget ${fmt(sweep.budget.spent)} of ${fmt(sweep.budget.amount)} ` +
    `${sweep.budget.unit} spent` : "";
  document.getElementById("facts").textContent = `${sweep.metric} (${sweep.mode}) · ${c.total} of ` +
    `${sweep.planned_trials ?? "the budget's"} trials: ${c.done} done, ${c.running} running, ${c.pending} pending, ` +
    `${c.stopped} stopped early, ${c.failed} failed${budget} · ${fmtDuration(sweep.elapsed_seconds)} · ${sweep.path}`;
  document.getElementById("metric-head").textContent = `best ${sweep.metric}`;
  document.querySelectorAll(".sweep-path").forEach((node) => { node.textContent = sweep.path; });
  document.getElementById("compute-head").textContent = `compute (${sweep.compute_unit})`;
  renderChoice(sweep);
  document.querySelector("#leaderboard tbody").replaceChildren(
    ...sweep.leaderboard.map((row) => leaderboardRow(name, sweep, row)));
  drawPlot("history", sweep.figures.history, "The optimisation history appears with the first evaluation.");
  drawPlot("curves", sweep.leaderboard.some((row) => row.best_value !== null) ? sweep.figures.curves : null,
           "Learning curves appear with the first evaluation.");
  drawPlot("parallel", sweep.figures.parallel, "Parallel coordinates appear with the first evaluation.");
  drawTradeoffs(name, sweep);
  const runs = sweep.leaderboard.filter((row) => row.wandb);
  document.getElementById("wandb-note").textContent = !runs.length ? "no runs (tracking disabled or none yet)"
    : runs[0].wandb.mode === "offline" ? `offline runs: upload with wandb sync ${sweep.path}/wandb/offline-run-*`
    : `project ${runs[0].wandb.project}; each row links its run`;
}

// The chosen checkpoint (exact value), a warning when a better trial exists, and the button that clears it.
function renderChoice(sweep) {
  const chosen = sweep.chosen;
  document.getElementById("chosen").textContent = chosen
    ? `trial ${chosen.trial_id}, step ${chosen.step}, ${chosen.metric} ${exact(chosen.value)} (${chosen.checkpoint})`
    : `none — export takes the best${sweep.best_trial ? ` (trial ${sweep.best_trial})` : ""}`;
  document.getElementById("clear-choice").hidden = !chosen;
  const warning = document.getElementById("choice-warning");
  warning.hidden = sweep.chosen_is_best !== false;
  warning.textContent = warning.hidden ? "" : `Not the best: trial ${sweep.best_trial} reached ${sweep.metric} ` +
    `${exact(sweep.best_value)}. Export takes the chosen checkpoint; clear the choice to export the best.`;
}

// The Pareto front (search.objectives) and the budget burn-down (search.budget), shown only for sweeps that have
// them; clicking a point of the front chooses that trial's best checkpoint, which the export buttons then take.
function drawTradeoffs(name, sweep) {
  const pareto = document.getElementById("pareto");
  pareto.hidden = !sweep.objectives;
  if (sweep.objectives) drawPlot("pareto", sweep.figures.pareto, "The Pareto front appears with the first evaluation.");
  if (pareto.dataset.drawn && !pareto.dataset.clickable) {
    pareto.dataset.clickable = "yes";
    pareto.on("plotly_click", async (event) => {
      await postJSON(`${sweepUrl(name)}/choose`, {trial_id: event.points[0].customdata})
        .catch((e) => showProblem(e.message));
      refreshSweep(name).catch((e) => showProblem(e.message));
    });
  }
  document.getElementById("budget").hidden = !sweep.budget;
  if (sweep.budget) drawPlot("budget", sweep.figures.budget, "");
}

async function refreshSweep(name) {
  const sweep = await getJSON(sweepUrl(name));
  renderSweep(name, sweep);
  return sweep;
}

async function refreshImportance(name) {
  const result = await getJSON(`${sweepUrl(name)}/importance`);
  document.getElementById("optuna-command").textContent = result.optuna_dashboard;
  drawPlot("importance", result.figure, "Hyperparameter importance needs two completed trials.");
  document.getElementById("importance-note").textContent = result.message
    || `${result.evaluator} on ${result.complete_trials} completed trials of the study (Optuna records each ` +
       "trial's last reported value).";
  return result;
}

function sweepPage() {
  const name = document.body.dataset.sweep;
  document.querySelectorAll("#pick button[data-merged]").forEach((button) => button.addEventListener("click",
    () => exportCheckpoint(name, {merged: button.dataset.merged === "true"}, button)));
  document.getElementById("clear-choice").addEventListener("click", async () => {
    await postJSON(`${sweepUrl(name)}/clear-choice`, {}).catch((e) => showProblem(e.message));
    refreshSweep(name).catch((e) => showProblem(e.message));
  });
  // Optuna's importance changes only when a trial completes, and refitting it costs: redo it when Tune shows
  // more completed trials than the study had last time (the journal may lag Tune by a poll or two).
  let studyTrials = -1;
  poll(async () => {
    const sweep = await refreshSweep(name);
    if (sweep.counts.done + sweep.counts.stopped > studyTrials) {
      studyTrials = (await refreshImportance(name)).complete_trials;
    }
    return isLive(sweep.state);
  });
}

function checkpointRow(name, trial, checkpoint, answer) {
  const isChosen = answer.chosen && answer.chosen.trial_id === trial && answer.chosen.checkpoint === checkpoint.name;
  const label = checkpoint.name + (checkpoint.name === answer.best_checkpoint ? " (best)" : "") +
    (checkpoint.reported ? "" : " (saved after the scheduler stopped the trial; not in Tune's results)");
  const body = {trial_id: trial, checkpoint: checkpoint.name};
  return el("tr", {dataset: {checkpoint: checkpoint.name}},
    el("td", {title: checkpoint.path}, label), el("td", {}, checkpoint.step),
    valueCell(checkpoint.metrics[answer.metric]), el("td", {}, fmtBytes(checkpoint.size_bytes)),
    el("td", {}, el("button", {class: "small", onclick: async () => {
      await postJSON(`${sweepUrl(name)}/choose`, body).catch((e) => showProblem(e.message));
      refreshTrial(name, trial);
    }}, isChosen ? "chosen ✓" : "choose")),
    el("td", {}, el("button", {class: "small", onclick: (event) =>
      exportCheckpoint(name, {...body, merged: false}, event.target)}, "export adapter"), " ",
    el("button", {class: "small", onclick: (event) =>
      exportCheckpoint(name, {...body, merged: true}, event.target)}, "export merged")));
}

function renderTrial(name, answer) {
  const trial = answer.trial;
  const state = document.getElementById("state");
  state.textContent = trial.state;
  state.className = `state ${trial.state}`;
  document.getElementById("facts").textContent = `rank ${trial.rank} · best ${answer.metric} ` +
    `${exact(trial.best_value) || "–"} · last ${exact(trial.last_value) || "–"} · ${trial.iterations} reports · ` +
    `${fmtDuration(trial.wall_seconds)} (first report after ${fmtDuration(trial.first_report_seconds)})` +
    (trial.stopped_early ? " · stopped early by the scheduler" : "");
  const error = document.getElementById("error");
  error.hidden = !(answer.error_text || trial.error);
  error.textContent = answer.error_text || trial.error || "";
  document.querySelector("#params tbody").replaceChildren(...Object.keys(trial.params).sort().map(
    (path) => el("tr", {}, el("td", {}, path), el("td", {}, fmt(trial.params[path])))));
  const wandb = trial.wandb;
  document.getElementById("wandb").textContent = !wandb ? "no W&B run"
    : wandb.url ? `W&B run ${wandb.run_id}: ${wandb.url}` : `W&B run ${wandb.run_id} (offline): ${wandb.sync}`;
  document.getElementById("metric-head").textContent = answer.metric;
  document.querySelector("#checkpoints tbody").replaceChildren(
    ...answer.checkpoints.map((checkpoint) => checkpointRow(name, trial.trial_id, checkpoint, answer)));
  document.getElementById("no-checkpoints").hidden = answer.checkpoints.length > 0;
  drawPlot("trial-curves", answer.figure, "No evaluation reported yet.");
}

async function refreshTrial(name, trialId) {
  const answer = await getJSON(`${sweepUrl(name)}/trials/${encodeURIComponent(trialId)}`);
  renderTrial(name, answer);
  return ["RUNNING", "PENDING", "PAUSED"].includes(answer.trial.state);
}

function trialPage() {
  const {sweep, trial} = document.body.dataset;
  poll(() => refreshTrial(sweep, trial));
}

document.addEventListener("DOMContentLoaded", () => {
  ({sweeps: sweepsPage, sweep: sweepPage, trial: trialPage})[document.body.dataset.page]();
});
