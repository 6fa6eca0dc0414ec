// A restricted key (an additional key with scopes, `tr_dev_sk_…`) through the official SDK:
// it acts only within its scopes, and `auth.createPublicToken` asks the server to mint,
// since the key cannot sign for its environment. Needs TRIGGER_API_URL and
// TRIGGER_MOCK_RESTRICTED_KEY (declared to the fake with the scopes below).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { auth, configure, sessions } from "@trigger.dev/sdk";

const baseURL = process.env.TRIGGER_API_URL;
const key = process.env.TRIGGER_MOCK_RESTRICTED_KEY;
assert.ok(baseURL && key, "set TRIGGER_API_URL and TRIGGER_MOCK_RESTRICTED_KEY");
// Declared as: write:tasks:chat-task,read:sessions
const asRestrictedKey = () => configure({ baseURL, accessToken: key });
const startBody = (externalId, taskIdentifier = "chat-task") => ({
  type: "sdk.restricted",
  externalId,
  taskIdentifier,
  triggerConfig: { basePayload: { externalId } },
});

test("a restricted key works within its scopes and is refused outside them", async () => {
  asRestrictedKey();
  const ext = `restricted-${randomUUID()}`;
  const created = await sessions.start(startBody(ext));
  assert.equal((await sessions.retrieve(ext)).id, created.id);
  await assert.rejects(sessions.start(startBody(`${ext}-b`, "another-task")), (e) => e.status === 403);
  await assert.rejects(sessions.close(ext), (e) => e.status === 403); // needs admin
});

test("auth.createPublicToken with a restricted key is minted by the server", async () => {
  asRestrictedKey();
  const ext = `minted-${randomUUID()}`;
  const created = await sessions.start(startBody(ext));
  const token = await auth.createPublicToken({
    scopes: { read: { sessions: ext } },
    expirationTime: "10m",
  });
  const [, payload] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  assert.deepEqual(claims.scopes, [`read:sessions:${ext}`]);
  assert.equal(claims.exp - claims.iat, 600);
  configure({ baseURL, accessToken: token });
  assert.equal((await sessions.retrieve(ext)).id, created.id);
  asRestrictedKey();
  await assert.rejects(
    auth.createPublicToken({ scopes: { admin: { sessions: ext } } }),
    (e) => e.status === 403,
  );
});
