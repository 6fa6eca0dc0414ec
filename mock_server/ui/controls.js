// Controls: reset, the clock, and the fault rules (listed with how often each fired).
import { call, el } from "./api.js";
import { loadSessions, selectedEnvironment } from "./sessions.js";

const $ = (id) => document.getElementById(id);

async function showClock() {
  const clock = await call("GET", "/_mock/clock");
  $("clock").textContent =
    `${clock.now} · ${clock.real ? "real time" : `offset ${clock.offsetMs} ms`}` +
    (clock.frozen ? " · frozen" : "");
}

function describe(value) {
  return Object.entries(value || {})
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" ");
}

async function showFaults() {
  const found = await call("GET", "/_mock/faults");
  $("faults").tBodies[0].replaceChildren(
    ...found.faults.map((rule) =>
      el(
        "tr",
        {},
        el("td", { class: "mono" }, rule.id),
        el("td", {}, describe(rule.match) || "every request"),
        el("td", {}, describe(rule.action)),
        el("td", {}, rule.fired),
        el("td", {}, rule.remaining ?? "∞"),
        el("td", {}, el("button", {
          type: "button",
          "aria-label": `Remove ${rule.id}`,
          onclick: () => call("DELETE", `/_mock/faults/${rule.id}`).then(showFaults),
        }, "Remove")),
      ),
    ),
  );
}

function faultBody() {
  const match = {};
  const operation = $("fault-operation").value.trim();
  if (operation) match.operation = operation;
  const action = {};
  if ($("fault-status").value) action.status = Number($("fault-status").value);
  if ($("fault-delay").value) action.delayMs = Number($("fault-delay").value);
  if ($("fault-drop").value) action.drop = $("fault-drop").value;
  return { match, action, times: Number($("fault-times").value) || 1 };
}

export function startControls() {
  const resetResult = $("reset-result");
  const reset = (body) =>
    call("POST", "/_mock/reset", body)
      .then((found) => {
        resetResult.textContent = `dropped ${found.dropped} sessions`;
        $("f-environment").replaceChildren();
        return Promise.all([loadSessions(), showClock(), showFaults()]);
      })
      .catch((error) => (resetResult.textContent = `refused: ${error.message}`));
  $("reset-all").addEventListener("click", () => reset({}));
  $("reset-env").addEventListener("click", () => {
    const env = selectedEnvironment();
    if (env) reset({ environment: env });
  });
  $("clock-advance").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { advanceSeconds: Number($("clock-seconds").value), frozen: $("clock-freeze").checked };
    call("POST", "/_mock/clock", body).then(showClock);
  });
  $("clock-set").addEventListener("submit", (event) => {
    event.preventDefault();
    call("POST", "/_mock/clock", { set: $("clock-at").value.trim(), frozen: $("clock-freeze").checked })
      .then(showClock)
      .catch((error) => ($("clock").textContent = `refused: ${error.message}`));
  });
  $("clock-real").addEventListener("click", () => call("POST", "/_mock/clock", { real: true }).then(showClock));
  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("fault-error").textContent = "";
    call("POST", "/_mock/faults", faultBody())
      .then(showFaults)
      .catch((error) => ($("fault-error").textContent = error.message));
  });
  const refresh = () => Promise.all([showClock(), showFaults()]).catch(() => {});
  refresh();
  setInterval(() => {
    if (!$("view-controls").hidden) refresh();
  }, 2000);
}
