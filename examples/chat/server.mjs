// The server half of the chat example. It serves the page and keeps the secret key: it
// creates each chat's session, mints tokens and closes sessions with it. The browser only
// ever gets a chat's public access token, which reads and writes that one session.
//
//   TRIGGER_API_URL     the API (default: trigger-mock on http://127.0.0.1:8080)
//   TRIGGER_SECRET_KEY  your secret key (any tr_dev_… key works with trigger-mock)
//   PORT                where this server listens (default 3000)
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { auth, configure, sessions } from "@trigger.dev/sdk";

const apiUrl = process.env.TRIGGER_API_URL ?? "http://127.0.0.1:8080";
const port = Number(process.env.PORT ?? 3000);
const TASK = "echo-chat"; // the chat.agent task behind the chat (trigger-mock's agent answers any)

configure({
  baseURL: apiUrl,
  accessToken: process.env.TRIGGER_SECRET_KEY ?? "tr_dev_chat_example",
});

const routes = {
  "GET /": () => file("public/index.html", "text/html; charset=utf-8"),
  "GET /app.js": () => file("dist/app.js", "text/javascript; charset=utf-8"),
  "GET /app.js.map": () => file("dist/app.js.map", "application/json"),
  "GET /api/config": async () => json({ apiUrl }),

  // A chat's first message: create its session (externalId = chatId, so asking twice finds
  // the same one) and hand over the session's public access token. A real app would check
  // here that the signed-in user may use this chatId.
  "POST /api/chat/start": async ({ chatId }) => {
    const session = await sessions.start({
      type: "chat.agent",
      externalId: chatId,
      taskIdentifier: TASK,
      triggerConfig: { basePayload: { messages: [], trigger: "preload", chatId } },
    });
    return json({ publicAccessToken: session.publicAccessToken });
  },

  // The browser's token expired or was refused: a fresh one for the same session.
  "POST /api/chat/token": async ({ chatId }) => {
    const scopes = { read: { sessions: chatId }, write: { sessions: chatId } };
    const publicAccessToken = await auth.createPublicToken({ scopes, expirationTime: "1h" });
    return json({ publicAccessToken });
  },

  // Closing needs the secret key; the session's own token may not close it.
  "POST /api/chat/close": async ({ chatId }) => {
    await sessions.close(chatId, { reason: "closed by the user" });
    return json({ closed: true });
  },
};

async function file(path, type) {
  const body = await readFile(new URL(path, import.meta.url)).catch(() => null);
  if (body === null) return json({ error: `${path} is missing: npm run build makes it` }, 500);
  return { status: 200, type, body };
}

function json(value, status = 200) {
  return { status, type: "application/json", body: JSON.stringify(value) };
}

async function readChatId(request) {
  let text = "";
  for await (const chunk of request) text += chunk;
  let chatId;
  try {
    chatId = JSON.parse(text).chatId;
  } catch {}
  if (typeof chatId === "string" && /^[\w-]{1,128}$/.test(chatId)) return { chatId };
  throw Object.assign(new Error("expected {\"chatId\": \"…\"}"), { status: 400 });
}

createServer(async (request, response) => {
  const route = routes[`${request.method} ${new URL(request.url, "http://x").pathname}`];
  let answer;
  try {
    answer = !route
      ? json({ error: "not found" }, 404)
      : await route(request.method === "POST" ? await readChatId(request) : {});
  } catch (error) {
    // The SDK's errors carry the API's status (after its own retries); pass it on.
    answer = json({ error: String(error?.message ?? error) }, error?.status ?? 500);
  }
  response.writeHead(answer.status, { "content-type": answer.type, "cache-control": "no-store" });
  response.end(answer.body);
}).listen(port, "127.0.0.1", () => {
  console.log(`chat example on http://127.0.0.1:${port} (API: ${apiUrl})`);
});
