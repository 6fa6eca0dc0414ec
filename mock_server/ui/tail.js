// A live tail of one channel: long-polls the control plane for records after the last one
// seen and shows them as they arrive. Chat chunks are shown as the text they spell; control
// records (turn-complete, session-closed) and S2 commands (trim) as labels.
import { call, el, query } from "./api.js";

const WAIT_SECONDS = 10;

// The user's words in an .in record: a chat message's text parts, else the raw data.
function inText(data) {
  let value = data;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return value;
    }
  }
  const message = value && value.payload && value.payload.message;
  if (message && Array.isArray(message.parts)) {
    const text = message.parts.filter((p) => p.type === "text").map((p) => p.text).join("");
    return `${value.payload.trigger || "message"}: ${text}`;
  }
  return JSON.stringify(value);
}

function label(record) {
  const control = record.headers.find(([name]) => name === "trigger-control");
  if (control) return control[1];
  if (record.headers.length && record.headers[0][0] === "") return `S2 ${record.headers[0][1]}`;
  return null;
}

class Transcript {
  constructor(list, io) {
    this.list = list;
    this.io = io;
    this.open = null; // the message being streamed on .out
  }

  add(record) {
    const seq = el("span", { class: "seq" }, `#${record.seqNum}`);
    const special = label(record);
    if (special) {
      this.open = null;
      this.list.append(el("li", { class: "control" }, seq, ` ${special}`));
      return;
    }
    const data = record.data;
    if (this.io === "out" && data && typeof data === "object" && typeof data.type === "string") {
      this.chunk(seq, data);
      return;
    }
    this.open = null;
    const text = this.io === "in" ? inText(data ?? record.body) : JSON.stringify(data ?? record.body);
    this.list.append(el("li", {}, seq, " ", text));
  }

  chunk(seq, data) {
    if (data.type === "start" || !this.open) {
      this.open = el("span", { class: "said" });
      this.list.append(el("li", { class: "turn" }, seq, " assistant: ", this.open));
      if (data.type === "start") return;
    }
    if (data.type === "text-delta") this.open.append(data.delta);
    else if (data.type === "finish") this.open = null;
  }
}

export function renderTail(sessionId, env, stream, signal) {
  const name = stream.channel ? `channels/${stream.channel}/${stream.io}` : `.${stream.io}`;
  const list = el("ol", { class: "tail", "aria-live": "polite", "aria-label": `records on ${name}` });
  const status = el("span", { class: "muted" }, "waiting…");
  const box = el("section", { class: "channel" }, el("h3", {}, name, " ", status), list);
  const transcript = new Transcript(list, stream.io);
  const ref = encodeURIComponent(sessionId);
  let after;
  let first = true;

  async function poll() {
    while (!signal.aborted) {
      try {
        // The first read answers at once; later ones wait for the next record (after the
        // last one seen, or the stream's first while it is empty).
        const params = { environment: env, channel: stream.channel, after, wait: first ? 0 : WAIT_SECONDS };
        first = false;
        const found = await call("GET", `/_mock/sessions/${ref}/${stream.io}/records${query(params)}`, undefined, { signal });
        for (const record of found.records) {
          transcript.add(record);
          after = record.seqNum;
        }
        status.textContent = `live · next #${found.tail}`;
      } catch (error) {
        if (signal.aborted) return;
        status.textContent = `retrying: ${error.message}`;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
  poll();
  return box;
}
