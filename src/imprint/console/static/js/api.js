// The public signed API as the console calls it: one function per operation, envelopes unwrapped,
// failures thrown as ApiError carrying the server's own code and message.

import { encodeQuery, signAcs3 } from "./sign.js";

const PREFIX = "/api/v1/personalizedtxt2img/";
const JSON_TYPE = "application/json; charset=utf-8";
const encoder = new TextEncoder();

export class ApiError extends Error {
  constructor(code, message, status) {
    super(`${code}: ${message}`);
    this.code = code;
    this.serverMessage = message;
    this.status = status;
  }
}

export class Api {
  constructor(credentials) {
    this.credentials = credentials;
  }

  async request(action, method, name, { query = {}, body = new Uint8Array(), contentType = null } = {}) {
    const path = PREFIX + name;
    const headers = await signAcs3({ method, host: location.host, path, query, body, action,
      credentials: this.credentials, contentType, extra: { accept: "application/json" } });
    delete headers.host;
    const qs = encodeQuery(query);
    try {
      return await fetch(path + (qs ? "?" + qs : ""), { method, headers, body: method === "GET" ? undefined : body,
        credentials: "omit", cache: "no-store" });
    } catch (err) {
      throw new ApiError("ConnectionFailed", `the server could not be reached (${err.message})`, 0);
    }
  }

  async call(action, method, name, options = {}) {
    if (options.json !== undefined) {
      options = { ...options, body: encoder.encode(JSON.stringify(options.json)), contentType: JSON_TYPE };
    }
    return unwrap(await this.request(action, method, name, options));
  }

  async uploadImage(file) {
    const body = new Uint8Array(await file.arrayBuffer());
    const reply = await this.call("Personalizedtxt2imgUploadImage", "POST", "uploadImage",
      { body, contentType: "application/octet-stream" });
    return reply.data;
  }

  async addModelTrainJob(body) {
    return (await this.call("Personalizedtxt2imgAddModelTrainJob", "POST", "addModelTrainJob", { json: body })).data;
  }

  async listModels() {
    return (await this.call("Personalizedtxt2imgQueryModelTrainJobList", "GET", "queryModelTrainJobList")).data;
  }

  async addInferenceJob(body) {
    return (await this.call("Personalizedtxt2imgAddInferenceJob", "POST", "addInferenceJob", { json: body })).data;
  }

  async cancelModelTrainJob(modelId) {
    return (await this.call("Personalizedtxt2imgCancelModelTrainJob", "POST", "cancelModelTrainJob",
      { json: { modelId } })).data;
  }

  async cancelInferenceJob(inferenceJobId) {
    return (await this.call("Personalizedtxt2imgCancelInferenceJob", "POST", "cancelInferenceJob",
      { json: { inferenceJobId } })).data;
  }

  async deleteModel(modelId) {
    return (await this.call("Personalizedtxt2imgDeleteModel", "POST", "deleteModel", { json: { modelId } })).data;
  }

  async deleteInferenceJob(inferenceJobId) {
    return (await this.call("Personalizedtxt2imgDeleteInferenceJob", "POST", "deleteInferenceJob",
      { json: { inferenceJobId } })).data;
  }

  // The adapter file: { name, blob }, the name from the server's Content-Disposition.
  async downloadModel(modelId, format = "safetensors") {
    const response = await this.request("Personalizedtxt2imgDownloadModel", "GET", "downloadModel",
      { query: { modelId, format } });
    const disposition = response.headers.get("content-disposition") || "";
    const match = /filename="?([^";]+)"?/.exec(disposition);
    if (response.ok && match) return { name: match[1], blob: await response.blob() };
    await unwrap(response);
    throw new ApiError("UnexpectedResponse", "the download came back without a file", response.status);
  }

  async image(modelId, promptId, imageId) {
    const response = await this.request("Personalizedtxt2imgQueryImageAsset", "GET", "queryImageAsset",
      { query: { modelId, promptId, imageId } });
    const type = response.headers.get("content-type") || "";
    if (response.ok && type.startsWith("image/")) return await response.blob();
    await unwrap(response);
    throw new ApiError("UnexpectedResponse", `image ${imageId} came back as ${type}`, response.status);
  }
}

async function unwrap(response) {
  let envelope;
  try {
    envelope = await response.json();
  } catch {
    throw new ApiError(`HTTP${response.status}`, "the server's answer is not JSON", response.status);
  }
  if (!response.ok || envelope.success === false) {
    throw new ApiError(String(envelope.Code || envelope.errCode || `HTTP${response.status}`),
      String(envelope.Message || envelope.errMessage || response.statusText), response.status);
  }
  return { data: envelope.data, notice: envelope.errCode ? [envelope.errCode, envelope.errMessage] : null };
}
