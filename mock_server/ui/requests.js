// Requests: the journal, newest first, polled for entries after the last one seen. A row
// opens to the request and the response; "copy as cURL" and "Export HAR" use the control
// plane's own renderings, so what is copied is what the fake recorded.
import { call, debounce, el, fetchRaw, query } from "./api.js";

const $ = (id) => document.getElementById(id);
let last = 0;
const seenOperations = new Set();

function filters() {
  return {
    operation: $("r-operation").value.trim(),
    status: $("r-status").value,
    environment: $("r-environment").value.trim(),
  };
}

function headerList(headers) {
  return el("pre", { class: "mono" }, (headers || []).map(([k, v]) => `${k}: ${v}`).join("\n"));
}

async function expand(entry, row) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("expanded")) {
    next.remove();
    row.setAttribute("aria-expanded", "false");
    return;
  }
  row.setAttribute("aria-expanded", "true");
  const cell = el("td", { colspan: 8 }, "loading…");
  row.after(el("tr", { class: "expanded" }, cell));
  try {
    const detail = await call("GET", `/_mock/requests/${entry.number}`);
    const curlText = el("textarea", { class: "curl mono", rows: 3, readonly: true, "aria-label": "cURL command" });
    const copy = el("button", {
      type: "button",
      onclick: async () => {
        const found = await call("GET", `/_mock/requests/${entry.number}/curl`);
        curlText.value = found.curl;
        try {
          await navigator.clipboard.writeText(found.curl);
          copy.textContent = "Copied";
        } catch {
          copy.textContent = "Shown below (clipboard refused)";
        }
      },
    }, "Copy as cURL");
    const request = detail.request || {};
    const response = detail.response || {};
    cell.replaceChildren(
      el("div", { class: "exchange" },
        el("section", {}, el("h3", {}, "Request"), headerList(request.headers),
          el("pre", { class: "mono body" }, request.body ?? "")),
        el("section", {}, el("h3", {}, `Response ${response.status ?? ""}`), headerList(response.headers),
          el("pre", { class: "mono body" }, response.body ?? "")),
      ),
      copy,
      curlText,
    );
  } catch (error) {
    cell.textContent = `gone: ${error.message}`;
  }
}

function row(entry) {
  const tr = el(
    "tr",
    { tabindex: 0, "aria-expanded": "false", class: entry.status >= 400 ? "failed" : "" },
    el("td", {}, entry.number),
    el("td", {}, entry.at),
    el("td", {}, entry.method),
    el("td", { class: "mono" }, entry.path + (entry.query ? `?${entry.query}` : "")),
    el("td", {}, entry.operation ?? ""),
    el("td", {}, entry.status),
    el("td", {}, entry.latencyMs),
    el("td", {}, entry.fault ?? ""),
  );
  const open = () => expand(entry, tr);
  tr.addEventListener("click", open);
  tr.addEventListener("keydown", (event) => event.key === "Enter" && open());
  return tr;
}

async function poll(fresh = false) {
  const body = $("requests").tBodies[0];
  if (fresh) {
    last = 0;
    body.replaceChildren();
  }
  const params = { ...filters(), limit: 200 };
  if (last) params.after = last;
  const found = await call("GET", `/_mock/requests${query(params)}`);
  if (found.total < last) return poll(true); // cleared or reset: start again
  // Without `after` the journal answers newest first; with it, oldest first.
  const entries = last ? found.requests : [...found.requests].reverse();
  for (const entry of entries) {
    body.prepend(row(entry));
    last = Math.max(last, entry.number);
    if (entry.operation && !seenOperations.has(entry.operation)) {
      seenOperations.add(entry.operation);
      $("operations").append(el("option", { value: entry.operation }));
    }
  }
  while (body.rows.length > 500) body.lastElementChild.remove();
}

async function exportHar() {
  const response = await fetchRaw(`/_mock/requests/har${query(filters())}`);
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: "trigger-mock.har" });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

export function startRequests() {
  let shown = null;
  const refilter = () => {
    const wanted = JSON.stringify(filters());
    if (wanted === shown) return; // a change event that changed nothing keeps open rows open
    shown = wanted;
    poll(true).catch(() => {});
  };
  const typed = debounce(refilter, 300);
  for (const id of ["r-operation", "r-status", "r-environment"]) {
    $(id).addEventListener("change", refilter);
    $(id).addEventListener("input", typed);
  }
  $("request-filters").addEventListener("submit", (event) => event.preventDefault());
  $("r-har").addEventListener("click", () => exportHar().catch(() => {}));
  refilter();
  setInterval(() => {
    if ($("r-live").checked && !$("view-requests").hidden) poll().catch(() => {});
  }, 1000);
}
