// The calls `session.in.wait()` makes from inside a task, through the SDK's own API client,
// and `wait.retrieveToken()` reading the result. Needs TRIGGER_API_URL (a running trigger-mock).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { ApiClient, WaitpointTimeoutError } from "@trigger.dev/core/v3";
import { configure, sessions, wait } from "@trigger.dev/sdk";

const baseURL = process.env.TRIGGER_API_URL;
assert.ok(baseURL, "set TRIGGER_API_URL to a running trigger-mock");
const key = `tr_dev_wait${randomUUID().replaceAll("-", "")}`;
const client = new ApiClient(baseURL, key);

async function started() {
  configure({ baseURL, accessToken: key });
  const externalId = `wait-${randomUUID()}`;
  const session = await sessions.start({
    type: "sdk.test",
    externalId,
    taskIdentifier: "chat-task",
    triggerConfig: { basePayload: { externalId } },
  });
  return { externalId, session };
}

test("a run's waitpoint on .in completes with the next message", async () => {
  const { externalId, session } = await started();
  const created = await client.createSessionStreamWaitpoint(session.runId, {
    session: session.id,
    io: "in",
    timeout: "1h",
    tags: ["sdk"],
  });
  assert.match(created.waitpointId, /^waitpoint_/);
  assert.equal(created.isCached, false);
  const blocked = await client.waitForWaitpointToken({
    runFriendlyId: session.runId,
    waitpointFriendlyId: created.waitpointId,
  });
  assert.equal(blocked.success, true);
  const waiting = await wait.retrieveToken(created.waitpointId);
  assert.equal(waiting.status, "WAITING");
  assert.ok(waiting.timeoutAt instanceof Date);
  assert.deepEqual(waiting.tags, ["sdk"]);
  await sessions.open(externalId).in.send({ kind: "message", text: "wake up" });
  const done = await wait.retrieveToken(created.waitpointId);
  assert.equal(done.status, "COMPLETED");
  assert.deepEqual(done.output, { kind: "message", text: "wake up" });
  assert.ok(done.completedAt instanceof Date);
});

test("the same idempotency key returns the same waitpoint", async () => {
  const { externalId, session } = await started();
  const body = { session: externalId, io: "in", idempotencyKey: "turn-1" };
  const first = await client.createSessionStreamWaitpoint(session.runId, body);
  const again = await client.createSessionStreamWaitpoint(session.runId, body);
  assert.deepEqual(again, { waitpointId: first.waitpointId, isCached: true });
});

test("an unknown run is a 404", async () => {
  const { externalId } = await started();
  await assert.rejects(
    client.createSessionStreamWaitpoint("run_0000000000000000000000000a", {
      session: externalId,
      io: "in",
    }),
    (error) => error.status === 404,
  );
});

test("a waitpoint past its timeout reads back as a timeout error", async () => {
  const { session } = await started();
  const created = await client.createSessionStreamWaitpoint(session.runId, {
    session: session.id,
    io: "in",
    timeout: "30s",
  });
  const clock = (body) =>
    fetch(`${baseURL}/_mock/clock`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  try {
    assert.equal((await clock({ advanceSeconds: 31 })).status, 200);
    const timedOut = await wait.retrieveToken(created.waitpointId);
    assert.equal(timedOut.status, "TIMED_OUT");
    assert.ok(timedOut.error instanceof WaitpointTimeoutError);
    assert.match(timedOut.error.message, /^Waitpoint timed out at /);
  } finally {
    await clock({ real: true });
  }
});
