// A small Server-Sent Events reader over fetch(), so requests can carry an
// Authorization header (EventSource cannot). Follows the WHATWG parsing rules:
// `id:`, `event:`, multi-line `data:`, `retry:`, comments, CR/LF/CRLF endings.
"use strict";

/** Feed text chunks in; get {id, event, data} objects out through onEvent. */
class SSEParser {
  constructor(onEvent, onRetry) {
    this.onEvent = onEvent;
    this.onRetry = onRetry || (() => {});
    this.buffer = "";
    this.skipLF = false;
    this.lastEventId = "";
    this.reset();
  }
  reset() { this.data = []; this.event = ""; }
  push(chunk) {
    if (!chunk) return;
    let text = chunk;
    // a CR that ended the previous chunk may be the first half of a CRLF
    if (this.skipLF && text[0] === "\n") text = text.slice(1);
    this.skipLF = false;
    this.buffer += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      if (m[0] === "\r" && this.buffer === "") this.skipLF = true;
      this.line(line);
    }
  }
  line(line) {
    if (line === "") { this.dispatch(); return; }
    if (line[0] === ":") return; // comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id") { if (!value.includes("\0")) this.lastEventId = value; }
    else if (field === "retry") { if (/^\d+$/.test(value)) this.onRetry(parseInt(value, 10)); }
  }
  dispatch() {
    if (this.data.length) {
      this.onEvent({ id: this.lastEventId, event: this.event || "message", data: this.data.join("\n") });
    }
    this.reset();
  }
}

/**
 * Read one SSE response to its end. Resolves when the server closes the
 * stream; rejects on network errors or non-200 (err.status set).
 */
async function readSSE(url, { headers = {}, lastEventId = "", signal, onEvent, onRetry, onOpen } = {}) {
  const h = Object.assign({ Accept: "text/event-stream" }, headers);
  if (lastEventId) h["Last-Event-ID"] = lastEventId;
  const response = await fetch(url, { headers: h, signal, cache: "no-store" });
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    const err = new Error(message || `HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  if (onOpen) onOpen();
  const parser = new SSEParser(onEvent, onRetry);
  parser.lastEventId = lastEventId;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value);
  }
  return parser.lastEventId;
}

window.SSE = { SSEParser, readSSE };
