// The console: sign in, models with live progress, new models from dropped photos or URLs,
// generation, and a gallery per model. State lives in this tab only (sessionStorage).

import { Api, ApiError } from "./api.js";
import { $, el, replaceChildren, show } from "./dom.js";
import { FINAL, progressBar, statusBadge } from "./progress.js";
import { webCryptoAvailable } from "./sign.js";

const CREDENTIALS = "imprint.credentials";
const PROMPTS = "imprint.prompts";
const TOKEN = "<special-token>";
const BUSY_POLL_MS = 1000;
const IDLE_POLL_MS = 5000;

const state = {
  api: null,
  models: [],
  selected: null,          // a model id, "new", or null
  photos: [],              // File objects chosen for a new model
  images: new Map(),       // "model/prompt/image" -> object URL
  loading: new Set(),
  timer: null,
  confirming: null,        // the model id whose "Delete" waits for a second click
};

// --- sign in / out ------------------------------------------------------------------------------
function credentialsFromForm() {
  return {
    accessKeyId: $("access-key-id").value.trim(),
    accessKeySecret: $("access-key-secret").value,
    securityToken: $("security-token").value.trim() || null,
  };
}

function showError(node, error) {
  const text = error instanceof ApiError ? `${error.code}: ${error.serverMessage}` : String(error.message || error);
  node.textContent = text;
  show(node, true);
}

async function signIn(credentials) {
  const api = new Api(credentials);
  const models = await api.listModels();
  state.api = api;
  state.models = models;
  sessionStorage.setItem(CREDENTIALS, JSON.stringify(credentials));
  $("whoami-key").textContent = credentials.accessKeyId + (credentials.securityToken ? " (temporary)" : "");
  show($("whoami"), true);
  show($("signin"), false);
  show($("workspace"), true);
  route();
  schedule(0);
}

function signOut() {
  sessionStorage.removeItem(CREDENTIALS);
  clearTimeout(state.timer);
  for (const url of state.images.values()) URL.revokeObjectURL(url);
  state.images.clear();
  Object.assign(state, { api: null, models: [], selected: null });
  $("access-key-secret").value = "";
  show($("workspace"), false);
  show($("whoami"), false);
  show($("signin"), true);
}

// --- polling ------------------------------------------------------------------------------------
function anyActive() {
  return state.models.some((m) => !FINAL.has(m.jobStatus) ||
    (m.inferenceJobList || []).some((j) => !FINAL.has(j.jobStatus)));
}

function schedule(ms) {
  clearTimeout(state.timer);
  state.timer = setTimeout(refresh, ms);
}

async function refresh() {
  if (!state.api) return;
  try {
    state.models = await state.api.listModels();
    show($("models-error"), false);
  } catch (error) {
    showError($("models-error"), error);
  }
  render();
  if (state.api) schedule(anyActive() ? BUSY_POLL_MS : IDLE_POLL_MS);
}

// --- routing ------------------------------------------------------------------------------------
function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  if (hash === "new") state.selected = "new";
  else if (hash.startsWith("model/")) state.selected = hash.slice("model/".length);
  else state.selected = null;
  render();
}

function select(target) {
  location.hash = target === null ? "#/" : target === "new" ? "#/new" : `#/model/${encodeURIComponent(target)}`;
}

// --- rendering ----------------------------------------------------------------------------------
function render() {
  renderList();
  show($("new-model"), state.selected === "new");
  const model = state.models.find((m) => m.modelId === state.selected);
  show($("model-view"), Boolean(model));
  if (model) renderModel(model);
}

function renderList() {
  const list = $("model-list");
  const items = [...state.models].reverse().map((m) => el("li", {
    "class": "model" + (m.modelId === state.selected ? " selected" : ""),
    "data-testid": "model", "data-model-id": m.modelId,
    "onclick": () => select(m.modelId),
  },
  el("div", { "class": "row" }, el("span", { "class": "model-name", "data-testid": "model-name" }, m.name),
    statusBadge(m.jobStatus)),
  el("div", { "class": "muted small" }, `${m.objectType} · ${m.inferenceImageCount || 0} images`),
  FINAL.has(m.jobStatus) ? null : progressBar(`train/${m.modelId}`, m.jobStatus, m.jobTrainProgress, "train-progress",
    m.etaSeconds),
  m.failureReason ? el("div", { "class": "error small", "data-testid": "failure" }, m.failureReason) : null));
  replaceChildren(list, items);
  show($("models-empty"), state.models.length === 0);
}

function renderModel(model) {
  $("model-title").textContent = model.name;
  $("model-meta").textContent =
    `${model.objectType} · ${model.modelId} · created ${model.createTime.replace("T", " ").slice(0, 19)} UTC · ` +
    `${(model.imageUrl || []).length} photos`;
  // A failed training has no progress to show; its reason says what happened.
  const failed = FINAL.has(model.jobStatus) && model.jobStatus !== "FINISHED";
  replaceChildren($("model-progress"), statusBadge(model.jobStatus), " ",
    failed ? null : progressBar(`train/${model.modelId}`, model.jobStatus, model.jobTrainProgress,
      "model-progress-bar", model.etaSeconds), warnings(model));
  $("model-failure").textContent = model.failureReason || "";
  show($("model-failure"), Boolean(model.failureReason));
  show($("generate-form"), model.jobStatus === "FINISHED");
  replaceChildren($("model-actions"), modelActions(model));
  renderGallery(model);
}

// Each action reports failures where the model's errors go and refreshes what it changed.
function action(run) {
  return async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await run();
      show($("models-error"), false);
    } catch (error) {
      showError($("models-error"), error);
    } finally {
      button.disabled = false;
      await refresh();
    }
  };
}

function modelActions(model) {
  if (state.confirming === model.modelId) {
    return el("span", { "class": "confirm" }, el("span", {}, "Delete it with its photos, jobs and images?"),
      el("button", { "type": "button", "class": "danger", "id": "confirm-delete",
        "onclick": action(async () => {
          await state.api.deleteModel(model.modelId);
          state.confirming = null;
          select(null);
        }) }, "Delete for good"),
      el("button", { "type": "button", "class": "secondary", "id": "keep-model",
        "onclick": () => { state.confirming = null; render(); } }, "Keep"));
  }
  return el("span", { "class": "actions" },
    FINAL.has(model.jobStatus) ? null : el("button", { "type": "button", "class": "secondary", "id": "cancel-training",
      "onclick": action(() => state.api.cancelModelTrainJob(model.modelId)) }, "Cancel training"),
    model.jobStatus === "FINISHED" ? el("button", { "type": "button", "class": "secondary", "id": "download-adapter",
      "onclick": action(() => downloadAdapter(model)) }, "Download adapter") : null,
    el("button", { "type": "button", "class": "danger", "id": "delete-model",
      "onclick": () => { state.confirming = model.modelId; render(); } }, "Delete model"));
}

async function downloadAdapter(model) {
  const { name, blob } = await state.api.downloadModel(model.modelId);
  saveBlob(blob, name);
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name.replace(/[^A-Za-z0-9._-]/g, "_") });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function renderGallery(model) {
  const prompts = JSON.parse(sessionStorage.getItem(PROMPTS) || "{}");
  const jobs = [...(model.inferenceJobList || [])].reverse();
  const sections = jobs.map((job) => {
    const images = (job.resultImageUrl || []).map((imageId) => thumbnail(model, job, imageId));
    return el("section", { "class": "job", "data-testid": "job", "data-job-id": job.id },
      el("div", { "class": "row" },
        el("span", {}, `Job ${job.id} · ${job.createTime.replace("T", " ").slice(0, 19)}`),
        el("span", { "class": "actions" }, statusBadge(job.jobStatus),
          FINAL.has(job.jobStatus) ? null : el("button", { "type": "button", "class": "secondary small",
            "data-testid": "cancel-job", "onclick": action(() => state.api.cancelInferenceJob(job.id)) }, "Cancel"),
          el("button", { "type": "button", "class": "secondary small", "data-testid": "delete-job",
            "onclick": action(() => state.api.deleteInferenceJob(job.id)) }, "Delete"))),
      prompts[job.id] ? el("p", { "class": "prompt", "data-testid": "job-prompt" }, prompts[job.id]) : null,
      FINAL.has(job.jobStatus) ? null : progressBar(`job/${job.id}`, job.jobStatus, job.jobTrainProgress,
        "job-progress", job.etaSeconds),
      warnings(job),
      job.failureReason ? el("p", { "class": "error small" }, job.failureReason) : null,
      images.length ? el("div", { "class": "grid" }, images) : null);
  });
  replaceChildren($("gallery"), sections);
  show($("gallery-empty"), jobs.length === 0);
}

// What the server says about a job it accepted (capped counts, words the model does not know...).
function warnings(job) {
  const list = job.warnings || [];
  return list.length ? el("ul", { "class": "warnings small", "data-testid": "warnings" },
    list.map((text) => el("li", {}, text))) : null;
}

function imageKey(model, job, imageId) {
  return `${model.modelId}/${job.promptId}/${imageId}`;
}

function thumbnail(model, job, imageId) {
  const key = imageKey(model, job, imageId);
  const url = state.images.get(key);
  if (!url) loadImage(model, job, imageId);
  const fileName = `${model.modelId}-${job.id}-${imageId}`.replace(/[^A-Za-z0-9._-]/g, "_");
  return el("button", { "type": "button", "class": "thumb", "data-testid": "image", "data-loaded": url ? "1" : "0",
    "onclick": () => url && openLightbox(url, fileName, `${model.name} · job ${job.id} · ${imageId}`) },
  url ? el("img", { src: url, alt: `image ${imageId} of job ${job.id}` }) : el("span", { "class": "muted" }, "loading…"));
}

async function loadImage(model, job, imageId) {
  const key = imageKey(model, job, imageId);
  if (state.loading.has(key)) return;
  state.loading.add(key);
  try {
    const blob = await state.api.image(model.modelId, job.promptId, imageId);
    state.images.set(key, URL.createObjectURL(blob));
    render();
  } catch (error) {
    showError($("models-error"), error);
  } finally {
    state.loading.delete(key);
  }
}

function openLightbox(url, fileName, caption) {
  $("lightbox-image").src = url;
  $("lightbox-image").alt = caption;
  $("lightbox-caption").textContent = caption;
  $("lightbox-download").href = url;
  $("lightbox-download").download = fileName;
  show($("lightbox"), true);
}

// --- new model ----------------------------------------------------------------------------------
function addPhotos(files) {
  for (const file of files) {
    if (file.type.startsWith("image/") || /\.(jpe?g|png|webp|gif|bmp)$/i.test(file.name)) state.photos.push(file);
  }
  renderPhotos();
}

function renderPhotos() {
  replaceChildren($("photo-list"), state.photos.map((file, index) => {
    const url = URL.createObjectURL(file);
    return el("li", { "data-testid": "photo" },
      el("img", { src: url, alt: file.name, onload: () => URL.revokeObjectURL(url) }),
      el("span", { "class": "small" }, file.name),
      el("button", { "type": "button", "class": "secondary small", "aria-label": `remove ${file.name}`,
        "onclick": () => { state.photos.splice(index, 1); renderPhotos(); } }, "×"));
  }));
}

async function submitNewModel(event) {
  event.preventDefault();
  const status = $("new-model-status");
  const button = $("train-button");
  show($("new-model-error"), false);
  const urls = $("photo-urls").value.split("\n").map((u) => u.trim()).filter(Boolean);
  if (state.photos.length === 0 && urls.length === 0) {
    showError($("new-model-error"), new Error("Add photos (drop them above) or image URLs first."));
    return;
  }
  button.disabled = true;
  try {
    const imageUrl = [];
    for (const [index, file] of state.photos.entries()) {
      status.textContent = `Uploading ${file.name} (${index + 1}/${state.photos.length})…`;
      try {
        imageUrl.push((await state.api.uploadImage(file)).imageUrl);
      } catch (error) {
        if (error instanceof ApiError) error.serverMessage = `${file.name}: ${error.serverMessage}`;
        throw error;
      }
    }
    imageUrl.push(...urls);
    status.textContent = "Starting the training…";
    const body = { name: $("model-name").value, objectType: $("object-type").value.trim(), imageUrl };
    if ($("train-steps").value) body.trainSteps = Number($("train-steps").value);
    const job = await state.api.addModelTrainJob(body);
    state.photos = [];
    renderPhotos();
    $("new-model-form").reset();
    status.textContent = "";
    await refresh();
    select(job.modelId);
  } catch (error) {
    status.textContent = "";
    showError($("new-model-error"), error);
  } finally {
    button.disabled = false;
  }
}

// --- generation ---------------------------------------------------------------------------------
function insertToken() {
  const area = $("prompt");
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? start;
  area.value = area.value.slice(0, start) + TOKEN + area.value.slice(end);
  area.focus();
  area.selectionStart = area.selectionEnd = start + TOKEN.length;
}

async function submitGenerate(event) {
  event.preventDefault();
  const button = $("generate-button");
  show($("generate-error"), false);
  const prompt = $("prompt").value;
  const body = { modelId: state.selected, prompt, imageNumber: Number($("image-number").value || 1) };
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  // The generation controls: only those filled in are sent; the server validates each one.
  if ($("negative-prompt").value.trim()) body.negativePrompt = $("negative-prompt").value;
  for (const [id, field] of [["steps", "steps"], ["guidance-scale", "guidanceScale"], ["width", "width"],
    ["height", "height"], ["adapter-scale", "adapterScale"]]) {
    if ($(id).value !== "") body[field] = Number($(id).value);
  }
  if ($("scheduler").value) body.scheduler = $("scheduler").value;
  button.disabled = true;
  try {
    const job = await state.api.addInferenceJob(body);
    const prompts = JSON.parse(sessionStorage.getItem(PROMPTS) || "{}");
    prompts[job.id] = prompt;
    sessionStorage.setItem(PROMPTS, JSON.stringify(prompts));
    await refresh();
  } catch (error) {
    showError($("generate-error"), error);
  } finally {
    button.disabled = false;
  }
}

// --- start --------------------------------------------------------------------------------------
function wire() {
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    show($("signin-error"), false);
    $("sign-in").disabled = true;
    try {
      await signIn(credentialsFromForm());
    } catch (error) {
      showError($("signin-error"), error);
    } finally {
      $("sign-in").disabled = false;
    }
  });
  $("sign-out").addEventListener("click", signOut);
  $("new-model-button").addEventListener("click", () => select("new"));
  $("new-model-form").addEventListener("submit", submitNewModel);
  $("photo-input").addEventListener("change", (e) => { addPhotos(e.target.files); e.target.value = ""; });
  const zone = $("dropzone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); addPhotos(e.dataTransfer.files); });
  $("insert-token").addEventListener("click", insertToken);
  $("generate-form").addEventListener("submit", submitGenerate);
  $("lightbox-close").addEventListener("click", () => show($("lightbox"), false));
  $("lightbox").addEventListener("click", (e) => { if (e.target === $("lightbox")) show($("lightbox"), false); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") show($("lightbox"), false); });
  window.addEventListener("hashchange", route);
}

async function start() {
  wire();
  if (!webCryptoAvailable()) {
    show($("signin"), true);
    showError($("signin-error"), new Error("This page is not a secure context, so the browser offers no WebCrypto " +
      "to sign requests with. Open the console over HTTPS, or as http://localhost / http://127.0.0.1 (an SSH " +
      "tunnel works)."));
    $("sign-in").disabled = true;
    return;
  }
  const saved = sessionStorage.getItem(CREDENTIALS);
  if (saved) {
    try {
      await signIn(JSON.parse(saved));
      return;
    } catch (error) {
      sessionStorage.removeItem(CREDENTIALS);
      showError($("signin-error"), error);
    }
  }
  show($("signin"), true);
}

start();
