// The dashboard's shell: tabs, the health line, the admin-token prompt. Each view lives in
// its own module and is started once.
import { call, setToken, whenUnauthorized } from "./api.js";
import { startControls } from "./controls.js";
import { startRequests } from "./requests.js";
import { startSessions } from "./sessions.js";

const tabs = [...document.querySelectorAll('[role="tab"]')];

function select(tab) {
  for (const other of tabs) {
    const chosen = other === tab;
    other.setAttribute("aria-selected", String(chosen));
    other.tabIndex = chosen ? 0 : -1;
    document.getElementById(other.getAttribute("aria-controls")).hidden = !chosen;
  }
  tab.focus();
  history.replaceState(null, "", `#${tab.id.replace("tab-", "")}`);
}

tabs.forEach((tab, index) => {
  tab.addEventListener("click", () => select(tab));
  tab.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step) select(tabs[(index + step + tabs.length) % tabs.length]);
  });
});

const tokenForm = document.getElementById("token-form");
whenUnauthorized(() => {
  tokenForm.hidden = false;
  document.getElementById("token").focus();
});
tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  setToken(document.getElementById("token").value);
  location.reload();
});

async function health() {
  try {
    const found = await call("GET", "/_mock/health");
    document.getElementById("health").textContent =
      `v${found.version} · ${found.fidelity} · ${found.sessions} sessions in ` +
      `${found.environments} environments · ${found.liveReaders} live readers · ` +
      `${found.faults} fault rules · rate limit ${found.rateLimit}`;
  } catch (error) {
    document.getElementById("health").textContent = `not answering: ${error.message}`;
  }
}

const initial = tabs.find((tab) => `#${tab.id.replace("tab-", "")}` === location.hash);
select(initial || tabs[0]);
health();
setInterval(health, 5000);
startSessions();
startRequests();
startControls();
