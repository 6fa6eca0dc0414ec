// The official SDK's retry and resume behaviour against faults injected by the fake's control
// plane (`/_mock/faults`, `/_mock/rate-limit`). Every rule is scoped to this file's own
// environment and removed again, so other test files sharing the server are untouched.
// Needs TRIGGER_API_URL (a running `trigger-mock serve --agent echo`).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { afterEach, test } from "node:test";
import { configure, sessions } from "@trigger.dev/sdk";

const baseURL = process.env.TRIGGER_API_URL;
assert.ok(baseURL, "set TRIGGER_API_URL to a running trigger-mock");
const key = `tr_dev_faults${randomUUID().replaceAll("-", "")}`;
const asSecretKey = () => configure({ baseURL, accessToken: key });
const unique = (label) => `faults-${label}-${randomUUID().slice(0, 8)}`;
const startBody = (externalId) => ({
  type: "sdk.faults",
  externalId,
  taskIdentifier: "chat-task",
  triggerConfig: { basePayload: { externalId } },
});

// --- the control plane ---------------------------------------------------------------------

async function control(method, path, body) {
  const response = await fetch(`${baseURL}/_mock${path}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const rules = new Set();

/** Add a fault rule for this file's environment; it is removed after the test. */
async function addFault(match, action, extra = {}) {
  const { status, body } = await control("POST", "/faults", {
    match: { ...match, environment: key },
    action,
    ...extra,
  });
  assert.equal(status, 201, JSON.stringify(body));
  rules.add(body.id);
  return body;
}

const fault = async (id) => (await control("GET", `/faults/${id}`)).body;

afterEach(async () => {
  for (const id of rules) await control("DELETE", `/faults/${id}`);
  rules.clear();
});

/** This environment's journal entries for `path` (a glob), oldest first. */
async function journal(path) {
  const query = new URLSearchParams({ environment: key, path });
  const { status, body } = await control("GET", `/requests?${query}`);
  assert.equal(status, 200);
  return body.requests.slice().reverse();
}

const statusesOf = (entries) => entries.map((e) => [e.status, e.fault]);

// --- what the SDK puts on the wire -----------------------------------------------------------

/** Records every fetch the SDK makes (it calls the global `fetch` on each attempt) while `fn`
 * runs: the request's headers, the response's status and headers, and when each happened. */
async function watchingFetch(fn) {
  const seen = [];
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    const entry = {
      url,
      method: init?.method ?? "GET",
      requestHeaders: new Headers(init?.headers),
      sentAt: Date.now(),
    };
    seen.push(entry);
    const response = await original(input, init);
    entry.status = response.status;
    entry.headers = response.headers;
    entry.answeredAt = Date.now();
    return response;
  };
  try {
    return { result: await fn(), seen };
  } catch (error) {
    return { error, seen };
  } finally {
    globalThis.fetch = original;
  }
}

const toFake = (seen, pathPart) =>
  seen.filter((e) => e.url.startsWith(baseURL) && e.url.includes(pathPart));

// --- the tests ---------------------------------------------------------------------------------

test("retrieve succeeds after one injected 503 (retried after the SDK's 1 s backoff)", async () => {
  asSecretKey();
  const externalId = unique("503");
  const created = await sessions.start(startBody(externalId));
  const rule = await addFault(
    { operation: "retrieve_session_v1", method: "GET" },
    { status: 503 },
    { times: 1 },
  );
  const started = Date.now();
  const { result, error, seen } = await watchingFetch(() => sessions.retrieve(externalId));
  const elapsed = Date.now() - started;
  assert.equal(error, undefined, String(error));
  assert.equal(result.id, created.id);
  const attempts = toFake(seen, `/api/v1/sessions/${externalId}`);
  assert.deepEqual(attempts.map((a) => a.status), [503, 200]);
  // First retry: minTimeoutInMs 1000, no randomisation in the API client's defaults.
  const gap = attempts[1].sentAt - attempts[0].answeredAt;
  assert.ok(gap >= 900, `retried ${gap} ms after the 503`);
  assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  const after = await fault(rule.id);
  assert.equal(after.fired, 1);
  assert.equal(after.remaining, 0);
  assert.deepEqual(statusesOf(await journal(`/api/v1/sessions/${externalId}`)), [
    [503, rule.id],
    [200, null],
  ]);
});

test("a 429 from the limiter: the SDK waits until x-ratelimit-reset, then succeeds", async () => {
  asSecretKey();
  const externalId = unique("429");
  const created = await sessions.start(startBody(externalId));
  const set = await control("PUT", "/rate-limit", { policy: "2/2" });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  try {
    // The bucket holds 2: spend it.
    const spend = await watchingFetch(async () => {
      await sessions.retrieve(externalId);
      await sessions.retrieve(externalId);
    });
    assert.equal(spend.error, undefined, String(spend.error));
    assert.deepEqual(spend.seen.map((e) => e.headers.get("x-ratelimit-remaining")), ["1", "0"]);
    const started = Date.now();
    const { result, error, seen } = await watchingFetch(() => sessions.retrieve(externalId));
    const elapsed = Date.now() - started;
    assert.equal(error, undefined, String(error));
    assert.equal(result.id, created.id);
    const attempts = toFake(seen, `/api/v1/sessions/${externalId}`);
    assert.deepEqual(attempts.map((a) => a.status), [429, 200]);
    const refused = attempts[0];
    const reset = Number(refused.headers.get("x-ratelimit-reset"));
    assert.ok(reset > refused.answeredAt - 50, `reset ${reset} is in the future`);
    assert.ok(reset - refused.answeredAt <= 2100, `reset ${reset} is within the 2 s window`);
    // The SDK waits reset − now + [0, 1000) ms: not before the reset (small slack for clocks).
    assert.ok(
      attempts[1].sentAt >= reset - 25,
      `retried at ${attempts[1].sentAt}, ${reset - attempts[1].sentAt} ms before the reset`,
    );
    assert.ok(elapsed >= reset - refused.answeredAt - 25, `took ${elapsed} ms`);
    assert.ok(elapsed >= 1000, `took only ${elapsed} ms`);
    const entries = await journal(`/api/v1/sessions/${externalId}`);
    assert.deepEqual(
      entries.map((e) => e.status),
      [200, 200, 429, 200], // the two that spent the bucket, the refusal, the retry
    );
    assert.ok(entries.every((e) => e.fault === null));
  } finally {
    const off = await control("PUT", "/rate-limit", { policy: "off" });
    assert.equal(off.status, 200);
  }
});

test("x-should-retry: false on a 500 makes the SDK fail at once, after one request", async () => {
  asSecretKey();
  const externalId = unique("noretry");
  await sessions.start(startBody(externalId));
  const rule = await addFault(
    { operation: "retrieve_session_v1" },
    { status: 500, headers: { "x-should-retry": "false" } },
    { times: null },
  );
  const started = Date.now();
  const { error, seen } = await watchingFetch(() => sessions.retrieve(externalId));
  const elapsed = Date.now() - started;
  assert.ok(error, "the call should have failed");
  assert.equal(error.status, 500, String(error));
  assert.ok(elapsed < 500, `took ${elapsed} ms`);
  assert.equal(toFake(seen, `/api/v1/sessions/${externalId}`).length, 1);
  const after = await fault(rule.id);
  assert.equal(after.fired, 1);
  assert.equal(after.remaining, null);
  assert.deepEqual(statusesOf(await journal(`/api/v1/sessions/${externalId}`)), [[500, rule.id]]);
});

test("out.read resumes with Last-Event-ID after the stream is cut: each record once, in order", async () => {
  asSecretKey();
  const externalId = unique("cut");
  await sessions.start(startBody(externalId));
  const records = Array.from({ length: 6 }, (_, n) => ({ data: { n } }));
  const wrote = await control("POST", `/sessions/${externalId}/out/records`, {
    environment: key,
    records,
  });
  assert.equal(wrote.status, 200, JSON.stringify(wrote.body));
  const rule = await addFault(
    { operation: "subscribe_to_session_channel_v1" },
    { cutAfterRecords: 2 },
    { times: 1 },
  );
  const parts = [];
  const { result, error, seen } = await watchingFetch(async () => {
    const stream = await sessions.open(externalId).out.read({
      timeoutInSeconds: 1,
      onPart: (part) => parts.push(part.id),
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return chunks;
  });
  assert.equal(error, undefined, String(error?.stack ?? error));
  assert.deepEqual(result, records.map((r) => r.data));
  assert.deepEqual(parts, ["0", "1", "2", "3", "4", "5"]);
  const connects = toFake(seen, `/realtime/v1/sessions/${externalId}/out`);
  assert.equal(connects.length, 2);
  assert.equal(connects[0].requestHeaders.get("last-event-id"), null);
  assert.equal(connects[1].requestHeaders.get("last-event-id"), "1");
  assert.equal((await fault(rule.id)).fired, 1);
  assert.deepEqual(statusesOf(await journal(`/realtime/v1/sessions/${externalId}/out`)), [
    [200, rule.id],
    [200, null],
  ]);
});

test("in.send whose first attempt is stored but answered 500 is kept once (X-Part-Id)", async () => {
  asSecretKey();
  const externalId = unique("append");
  await sessions.start(startBody(externalId));
  const rule = await addFault(
    { operation: "append_to_session_channel_v1" },
    { status: 500, afterStore: true },
    { times: 1 },
  );
  const value = { type: "note", text: "once only" };
  const { error, seen } = await watchingFetch(() => sessions.open(externalId).in.send(value));
  assert.equal(error, undefined, String(error));
  const attempts = toFake(seen, `/realtime/v1/sessions/${externalId}/in/append`);
  assert.deepEqual(attempts.map((a) => a.status), [500, 200]);
  const partIds = attempts.map((a) => a.requestHeaders.get("x-part-id"));
  assert.ok(partIds[0], "the SDK sends an X-Part-Id");
  assert.equal(partIds[1], partIds[0], "the retry reuses the X-Part-Id");
  const response = await fetch(`${baseURL}/realtime/v1/sessions/${externalId}/in/records`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  assert.equal(response.status, 200);
  const { records } = await response.json();
  assert.equal(records.length, 1, JSON.stringify(records));
  assert.deepEqual(JSON.parse(records[0].data), value);
  assert.equal(records[0].id, partIds[0]);
  assert.equal((await fault(rule.id)).fired, 1);
  assert.deepEqual(statusesOf(await journal(`/realtime/v1/sessions/${externalId}/in/append`)), [
    [500, rule.id],
    [200, null],
  ]);
});
