// Progress bars and time left, estimated from how fast a job's progress has grown since this page
// first saw it move.

import { el } from "./dom.js";

export const FINAL = new Set(["FINISHED", "TRAINING_TERMINATED", "INFERRING_TERMINATED", "WRONG_IMAGE_URL",
  "OOM", "TOO_MANY_INFERENCE_REQUESTS"]);

const firstSeen = new Map();

export function eta(key, progress, now = performance.now()) {
  const start = firstSeen.get(key);
  if (!start || progress < start.progress) {
    firstSeen.set(key, { time: now, progress });
    return null;
  }
  if (progress <= start.progress || progress >= 1) return null;
  return ((now - start.time) / 1000) * (1 - progress) / (progress - start.progress);
}

export function formatEta(seconds) {
  if (seconds === null) return "";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s left` : `${s}s left`;
}

// `serverEta`: the job's etaSeconds where the server gives one; else this page's own estimate.
export function progressBar(key, status, progress, testid, serverEta = null) {
  const pct = Math.round((progress || 0) * 100);
  const local = eta(key, progress || 0);
  const left = FINAL.has(status) ? "" : formatEta(typeof serverEta === "number" ? serverEta : local);
  const label = `${pct}%` + (left ? ` · ${left}` : "");
  return el("div", { "class": "progress", "data-testid": testid, "data-percent": String(pct) },
    el("div", { "class": "bar", "role": "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(pct) }, el("div", { "class": "fill", "style": { width: `${pct}%` } })),
    el("span", { "class": "progress-label" }, label));
}

export function statusBadge(status) {
  const kind = status === "FINISHED" ? "ok" : FINAL.has(status) ? "bad" : "busy";
  return el("span", { "class": `badge ${kind}`, "data-testid": "status" }, status);
}
