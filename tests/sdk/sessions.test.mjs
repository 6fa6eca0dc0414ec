// The official SDK against trigger-mock: the Sessions REST calls and the channels.
// Needs TRIGGER_API_URL (a running `trigger-mock serve --agent echo`).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { auth, configure, sessions } from "@trigger.dev/sdk";

const baseURL = process.env.TRIGGER_API_URL;
assert.ok(baseURL, "set TRIGGER_API_URL to a running trigger-mock");
const key = `tr_dev_sdk${randomUUID().replaceAll("-", "")}`;
const asSecretKey = () => configure({ baseURL, accessToken: key });
const startBody = (externalId, extra = {}) => ({
  type: "sdk.test",
  externalId,
  taskIdentifier: "chat-task",
  triggerConfig: { basePayload: { externalId } },
  ...extra,
});

test("start creates, then returns the open session cached", async () => {
  asSecretKey();
  const first = await sessions.start(startBody("chat/é 1", { tags: ["u:1"], metadata: { a: 1 } }));
  assert.equal(first.isCached, false);
  assert.match(first.id, /^session_c[0-9a-z]{24}$/);
  const again = await sessions.start(startBody("chat/é 1"));
  assert.equal(again.isCached, true);
  assert.equal(again.id, first.id);
  assert.equal(again.runId, first.runId);
});

test("retrieve and update by externalId", async () => {
  asSecretKey();
  const created = await sessions.start(startBody("retrieve-me"));
  const found = await sessions.retrieve("retrieve-me");
  assert.equal(found.id, created.id);
  assert.equal(found.currentRunId, created.runId);
  const updated = await sessions.update("retrieve-me", { tags: ["x"], metadata: null });
  assert.deepEqual(updated.tags, ["x"]);
  assert.equal(updated.metadata, null);
});

test("list walks every page", async () => {
  asSecretKey();
  const type = `bulk.${randomUUID().slice(0, 8)}`;
  for (let i = 0; i < 25; i++) {
    await sessions.start({ type, taskIdentifier: "t", triggerConfig: { basePayload: {} } });
  }
  let seen = 0;
  for await (const _ of sessions.list({ type, limit: 10 })) seen++;
  assert.equal(seen, 25);
  const page = await sessions.list({ type, limit: 10 });
  assert.equal(page.data.length, 10);
  assert.ok(page.hasNextPage());
});

test("close is final: closing twice keeps the first close, start after close fails", async () => {
  asSecretKey();
  const created = await sessions.start(startBody("close-me"));
  const closed = await sessions.close("close-me", { reason: "bye" });
  assert.equal(closed.closedReason, "bye");
  const again = await sessions.close(created.id);
  assert.equal(again.closedAt.getTime(), closed.closedAt.getTime());
  await assert.rejects(sessions.start(startBody("close-me")), (error) => error.status === 409);
});

test("the session token reads its session but may not close it", async () => {
  asSecretKey();
  const created = await sessions.start(startBody("token-scope"));
  configure({ baseURL, accessToken: created.publicAccessToken });
  assert.equal((await sessions.retrieve(created.id)).id, created.id);
  await assert.rejects(sessions.close(created.id), (error) => [401, 403].includes(error.status));
  asSecretKey();
});

test("auth.createPublicToken signs a token the fake accepts", async () => {
  asSecretKey();
  const created = await sessions.start(startBody("public-token"));
  const token = await auth.createPublicToken({ scopes: { read: { sessions: "public-token" } } });
  configure({ baseURL, accessToken: token });
  assert.equal((await sessions.retrieve("public-token")).id, created.id);
  asSecretKey();
});

test("in.send appends to .in; out.read reads what the task wrote", async () => {
  asSecretKey();
  await sessions.start(startBody("channels"));
  const handle = sessions.open("channels");
  await handle.in.send({ type: "note", text: "hello" });
  const response = await fetch(`${baseURL}/realtime/v1/sessions/channels/in/records`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  const { records } = await response.json();
  assert.deepEqual(JSON.parse(records[0].data), { type: "note", text: "hello" });
  const wrote = await fetch(`${baseURL}/_mock/sessions/channels/out/records`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      environment: key,
      records: [{ data: { n: 1 } }, { data: { n: 2 } }, { control: "turn-complete" }],
    }),
  });
  assert.equal(wrote.status, 200);
  const controls = [];
  const chunks = [];
  const stream = await handle.out.read({
    timeoutInSeconds: 1,
    onControl: (control) => controls.push(control.subtype),
  });
  for await (const chunk of stream) chunks.push(chunk);
  assert.deepEqual(chunks, [{ n: 1 }, { n: 2 }]);
  assert.deepEqual(controls, ["turn-complete"]);
});

test("writeControl goes through the S2 endpoint initialize hands out", async () => {
  asSecretKey();
  await sessions.start(startBody("control/with slash"));
  const handle = sessions.open("control/with slash");
  const { lastEventId } = await handle.out.writeControl("upgrade-required");
  assert.equal(lastEventId, "0");
  const response = await fetch(
    `${baseURL}/realtime/v1/sessions/${encodeURIComponent("control/with slash")}/out/records`,
    { headers: { Authorization: `Bearer ${key}` } },
  );
  const { records } = await response.json();
  assert.deepEqual(records[0].headers, [["trigger-control", "upgrade-required"]]);
});

test("out.append, out.pipe, out.writer and trimTo write through the S2 endpoint (HTTP/2)", async () => {
  asSecretKey();
  // a key with "/" and non-ASCII: the deployed server names its S2 stream with it raw
  const writerKey = "writer/é 中 1";
  await sessions.start(startBody(writerKey));
  const handle = sessions.open(writerKey);
  await handle.out.append({ type: "text-delta", delta: "one" });
  const { waitUntilComplete } = handle.out.pipe(
    (async function* () {
      yield { n: 1 };
      yield { n: 2 };
    })(),
  );
  assert.deepEqual(await waitUntilComplete(), { lastEventId: "2" });
  const written = handle.out.writer({
    execute: async ({ write, merge }) => {
      write({ n: 3 });
      merge(
        new ReadableStream({
          start(controller) {
            controller.enqueue({ n: 4 });
            controller.close();
          },
        }),
      );
    },
  });
  assert.deepEqual(await written.waitUntilComplete(), { lastEventId: "4" });
  const read = async () => {
    const response = await fetch(
      `${baseURL}/realtime/v1/sessions/${encodeURIComponent(writerKey)}/out/records`,
      { headers: { Authorization: `Bearer ${key}` } },
    );
    return (await response.json()).records;
  };
  assert.deepEqual(
    (await read()).map((r) => r.data),
    [{ type: "text-delta", delta: "one" }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }],
  );
  await handle.out.trimTo(3);
  assert.deepEqual((await read()).map((r) => r.seqNum), [3, 4]);
});
