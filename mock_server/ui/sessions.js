// Sessions: one environment's sessions as a filtered, sorted, paged table (the server does
// the filtering, so 100,000 sessions cost one page), and the chosen session with a live
// tail of its channels.
import { call, debounce, el, query } from "./api.js";
import { renderTail } from "./tail.js";

const PAGE = 50;
const state = { offset: 0, sort: "-createdAt", total: 0, selected: null };
const $ = (id) => document.getElementById(id);

function filters() {
  return {
    environment: $("f-environment").value,
    q: $("f-q").value.trim(),
    type: $("f-type").value.trim(),
    status: $("f-status").value,
    tag: $("f-tag").value.trim(),
    sort: state.sort,
    limit: PAGE,
    offset: state.offset,
  };
}

export function selectedEnvironment() {
  return $("f-environment").value;
}

async function loadEnvironments() {
  const found = await call("GET", `/_mock/sessions${query({ limit: 1 })}`);
  const select = $("f-environment");
  const current = select.value;
  select.replaceChildren(
    ...found.environments.map((env) =>
      el("option", { value: env.id }, `${env.id} (${env.kind || "?"}, ${env.total})`),
    ),
  );
  if (found.environments.some((env) => env.id === current)) select.value = current;
  return found.environments.length;
}

// "2026-12-02T05:40:13.461Z" → "12-02 05:40:13" (the full instant is the cell's title).
function shortTime(iso) {
  return iso ? iso.slice(5, 19).replace("T", " ") : "—";
}

function row(session) {
  const open = () => showSession(session);
  return el(
    "tr",
    {
      tabindex: 0,
      "data-id": session.id,
      "aria-selected": String(state.selected === session.id),
      onclick: open,
      onkeydown: (event) => event.key === "Enter" && open(),
    },
    el("td", { class: "mono" }, session.id),
    el("td", {}, session.externalId ?? "—"),
    el("td", {}, session.type),
    el("td", { class: `status ${session.status}` }, session.status),
    el("td", { title: session.createdAt }, shortTime(session.createdAt)),
    el("td", { title: session.updatedAt }, shortTime(session.updatedAt)),
  );
}

export async function loadSessions() {
  if (!$("f-environment").value && !(await loadEnvironments())) {
    $("sessions").tBodies[0].replaceChildren();
    $("sessions-count").textContent = "no sessions yet";
    return;
  }
  const found = await call("GET", `/_mock/sessions${query(filters())}`);
  const env = found.environments[0];
  const rows = env ? env.sessions : [];
  state.total = env ? env.total : 0;
  $("sessions").tBodies[0].replaceChildren(...rows.map(row));
  const last = Math.min(state.offset + rows.length, state.total);
  $("sessions-count").textContent = state.total
    ? `${state.offset + 1}–${last} of ${state.total}`
    : "no matching sessions";
  $("prev-page").disabled = state.offset === 0;
  $("next-page").disabled = last >= state.total;
}

let tails = null;

async function showSession(session) {
  state.selected = session.id;
  for (const tr of $("sessions").tBodies[0].rows) {
    tr.setAttribute("aria-selected", String(tr.dataset.id === session.id));
  }
  if (tails) tails.abort();
  tails = new AbortController();
  const env = selectedEnvironment();
  const panel = $("session-detail");
  panel.hidden = false;
  const fields = el("dl", { class: "fields" });
  for (const [name, value] of Object.entries(session)) {
    const text = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
    fields.append(el("dt", {}, name), el("dd", { class: "mono" }, text));
  }
  const channels = el("div", { class: "tails" });
  panel.replaceChildren(
    el("h2", {}, session.externalId ?? session.id, " ", el("span", { class: `status ${session.status}` }, session.status)),
    el("p", { class: "muted mono" }, `${session.id} · run ${session.currentRunId ?? "—"}`),
    channels,
    writeForms(session, env),
    el("details", {}, el("summary", {}, "All fields"), fields),
  );
  const ref = encodeURIComponent(session.id);
  const listed = await call("GET", `/_mock/sessions/${ref}/channels${query({ environment: env })}`);
  const streams = [{ io: "in", channel: null }, { io: "out", channel: null }];
  for (const stream of listed.channels) {
    if (stream.channel !== null) streams.push(stream);
  }
  for (const stream of streams) {
    channels.append(renderTail(session.id, env, stream, tails.signal));
  }
}

function writeForms(session, env) {
  const ref = encodeURIComponent(session.id);
  const result = el("p", { class: "muted", "aria-live": "polite" });
  const report = (promise) =>
    promise
      .then((answer) => (result.textContent = `done: ${JSON.stringify(answer).slice(0, 200)}`))
      .catch((error) => (result.textContent = `refused: ${error.message}`));
  const turnText = el("input", { id: "turn-text", placeholder: "Hello from the agent", size: 30 });
  const turn = el(
    "form",
    {
      onsubmit: (event) => {
        event.preventDefault();
        report(call("POST", `/_mock/sessions/${ref}/out/records`, { environment: env, text: turnText.value }));
      },
    },
    el("label", { for: "turn-text" }, "Assistant turn on .out "),
    turnText,
    el("button", { type: "submit" }, "Write turn"),
  );
  const recordIo = el("select", { id: "record-io" }, el("option", {}, "in"), el("option", {}, "out"));
  const recordData = el("input", { id: "record-data", placeholder: '{"any": "JSON"}', size: 30 });
  const record = el(
    "form",
    {
      onsubmit: (event) => {
        event.preventDefault();
        let data;
        try {
          data = JSON.parse(recordData.value);
        } catch {
          result.textContent = "the record's data must be JSON";
          return;
        }
        report(call("POST", `/_mock/sessions/${ref}/${recordIo.value}/records`, { environment: env, records: [{ data }] }));
      },
    },
    el("label", { for: "record-io" }, "Record on "),
    recordIo,
    el("label", { for: "record-data" }, " data "),
    recordData,
    el("button", { type: "submit" }, "Write record"),
  );
  const reason = el("input", { id: "close-reason", placeholder: "reason (optional)", size: 20 });
  const close = el(
    "form",
    {
      onsubmit: (event) => {
        event.preventDefault();
        const body = { environment: env };
        if (reason.value) body.reason = reason.value;
        report(call("POST", `/_mock/sessions/${ref}/close`, body).then((row) => {
          loadSessions();
          return row;
        }));
      },
    },
    reason,
    el("button", { type: "submit", disabled: session.status === "CLOSED" }, "Close session"),
  );
  return el("div", { class: "forms" }, turn, record, close, result);
}

export function startSessions() {
  const reload = debounce(() => {
    state.offset = 0;
    loadSessions().catch(() => {});
  }, 200);
  for (const id of ["f-q", "f-type", "f-tag"]) $(id).addEventListener("input", reload);
  for (const id of ["f-status", "f-environment"]) $(id).addEventListener("change", reload);
  $("session-filters").addEventListener("submit", (event) => event.preventDefault());
  $("prev-page").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE);
    loadSessions();
  });
  $("next-page").addEventListener("click", () => {
    state.offset += PAGE;
    loadSessions();
  });
  for (const button of document.querySelectorAll("button.sort")) {
    button.addEventListener("click", () => {
      const name = button.dataset.sort;
      state.sort = state.sort === `-${name}` ? name : `-${name}`;
      for (const other of document.querySelectorAll("button.sort")) other.removeAttribute("aria-sort");
      button.setAttribute("aria-sort", state.sort.startsWith("-") ? "descending" : "ascending");
      loadSessions();
    });
  }
  const refresh = async () => {
    try {
      await loadEnvironments();
      await loadSessions();
    } catch {
      // the health line says what is wrong
    }
  };
  refresh();
  setInterval(() => {
    // Not while the view is hidden, nor under a keyboard user's feet.
    const busy = $("sessions").contains(document.activeElement);
    if (!$("view-sessions").hidden && !busy) refresh();
  }, 3000);
}
