// One chat turn through the SDK's browser chat transport, answered by `--agent echo`.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { configure, sessions } from "@trigger.dev/sdk";
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { readUIMessageStream } from "ai";

const baseURL = process.env.TRIGGER_API_URL;
const key = `tr_dev_chat${randomUUID().replaceAll("-", "")}`;

test("a chat turn streams the echo agent's reply", async () => {
  configure({ baseURL, accessToken: key });
  const chatId = `chat-${randomUUID()}`;
  const transport = new TriggerChatTransport({
    task: "chat-task",
    baseURL,
    startSession: async ({ chatId: id }) => {
      const session = await sessions.start({
        type: "chat.agent",
        externalId: id,
        taskIdentifier: "chat-task",
        triggerConfig: { basePayload: { messages: [], trigger: "preload", chatId: id } },
      });
      return { publicAccessToken: session.publicAccessToken };
    },
    accessToken: async () => {
      throw new Error("the token from startSession should do");
    },
  });
  const turn = async (messages) => {
    const stream = await transport.sendMessages({
      trigger: "submit-message",
      chatId,
      messageId: undefined,
      messages,
      abortSignal: undefined,
    });
    let last;
    for await (const message of readUIMessageStream({ stream })) last = message;
    return last;
  };
  const user = { id: "u1", role: "user", parts: [{ type: "text", text: "hello there" }] };
  const reply = await turn([user]);
  assert.equal(reply.role, "assistant");
  const text = reply.parts.filter((p) => p.type === "text").map((p) => p.text).join("");
  assert.equal(text, "echo: hello there");
  const second = { id: "u2", role: "user", parts: [{ type: "text", text: "and again" }] };
  const next = await turn([user, reply, second]);
  assert.equal(next.parts.filter((p) => p.type === "text").map((p) => p.text).join(""), "echo: and again");
});
