// ACS3-HMAC-SHA256 request signing with WebCrypto (signing.md §3): the same signature every
// official SDK computes, so the console needs no endpoint of its own and the secret never leaves
// this browser.

const encoder = new TextEncoder();
export const ALGORITHM = "ACS3-HMAC-SHA256";
export const API_VERSION = "20240611";

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function webCryptoAvailable() {
  return Boolean(globalThis.crypto && globalThis.crypto.subtle);
}

export async function sha256Hex(bytes) {
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

async function hmacHex(secret, text) {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" },
    false, ["sign"]);
  return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

// Strict RFC 3986: only A-Z a-z 0-9 - _ . ~ stay literal (encodeURIComponent also keeps !'()*).
export function rfc3986(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

// The query as sent: sorted and escaped, which is already its canonical form.
export function encodeQuery(query) {
  return Object.keys(query).sort().map((k) => `${rfc3986(k)}=${rfc3986(String(query[k]))}`).join("&");
}

function randomNonce() {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}

function acsDate(now) {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Returns every header to sign and send (lower-case names), Authorization included. `host` is
// signed but the browser sends it itself (fetch may not set it).
export async function signAcs3({ method, host, path, query = {}, body = new Uint8Array(), action, credentials,
  contentType = null, now = new Date(), nonce = null, extra = {} }) {
  const headers = {
    "host": host,
    "x-acs-action": action,
    "x-acs-version": API_VERSION,
    "x-acs-date": acsDate(now),
    "x-acs-signature-nonce": nonce || randomNonce(),
    "x-acs-content-sha256": await sha256Hex(body),
  };
  if (credentials.securityToken) {
    headers["x-acs-security-token"] = credentials.securityToken;
    headers["x-acs-accesskey-id"] = credentials.accessKeyId;
  }
  if (contentType) headers["content-type"] = contentType;
  for (const [name, value] of Object.entries(extra)) headers[name.toLowerCase()] = value;
  const names = Object.keys(headers).sort();
  const lines = names.map((name) => `${name}:${headers[name].trim()}\n`).join("");
  const signed = names.join(";");
  const canonical = [method, path, encodeQuery(query), lines, signed, headers["x-acs-content-sha256"]].join("\n");
  const toSign = `${ALGORITHM}\n${await sha256Hex(encoder.encode(canonical))}`;
  const signature = await hmacHex(credentials.accessKeySecret, toSign);
  headers["authorization"] =
    `${ALGORITHM} Credential=${credentials.accessKeyId},SignedHeaders=${signed},Signature=${signature}`;
  return headers;
}
