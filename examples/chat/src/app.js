// The browser half of the chat example: the SDK's TriggerChatTransport talks to the API
// (another origin) with the chat's public access token; the AI SDK's readUIMessageStream
// turns the streamed chunks into a message we render as it grows. The chat id, transcript
// and the transport's session state live in sessionStorage, so a reload in the middle of a
// reply picks the stream up where the reply began and shows it to the end.
import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { readUIMessageStream } from "ai";

const STORE = "trigger-chat-example";
const $ = (id) => document.getElementById(id);
const [list, form, input, sendButton, closeButton, statusLine] = [
  $("messages"), $("composer"), $("input"), $("send"), $("close"), $("status"),
];

// What a reload needs. `session` is the transport's own state for this chat: the public
// access token, the resume cursor (`lastEventId`) and whether a reply was streaming.
const chat = JSON.parse(sessionStorage.getItem(STORE)) ?? {
  id: crypto.randomUUID(),
  messages: [],
  session: null,
  closed: false,
};
const save = () => sessionStorage.setItem(STORE, JSON.stringify(chat));
let busy = false; // a message is being sent or its reply is streaming

// Our own server, which holds the secret key.
async function post(path, chatId) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ chatId }),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const { apiUrl } = await (await fetch("/api/config")).json();
$("api-url").textContent = apiUrl;

const transport = new TriggerChatTransport({
  task: "echo-chat",
  baseURL: apiUrl,
  // A new chat's first message: our server creates the session, we get its token.
  startSession: ({ chatId }) => post("/api/chat/start", chatId),
  // The token expired: our server mints another for the same session.
  accessToken: async ({ chatId }) => (await post("/api/chat/token", chatId)).publicAccessToken,
  // After a reload: the state saved below, so no new session and the stream can resume.
  sessions: chat.session ? { [chat.id]: chat.session } : undefined,
  onSessionChange: (_chatId, session) => {
    chat.session = session;
    save();
    update();
  },
  onEvent: (event) => event.type === "session-closed" && markClosed(),
  // Sends go through sendWithRetries (below); the reply stream retries by itself.
  fetch: (url, init, { endpoint }) =>
    endpoint === "in" ? sendWithRetries(url, init) : fetch(url, init),
});

// The transport sends a message with a single fetch and gives up on any failure (its
// stream of replies, by contrast, reconnects by itself). This tries a send again when the
// API was unavailable (5xx), rate limited (429) or unreachable. A rate limiter's 429
// carries no CORS headers, so the page sees it only as a failed fetch. Every try has the
// same X-Part-Id header, so the API stores the message once however many tries it takes.
// `?retries=0` in the page's URL turns this off, to see what the transport does alone.
const retries = Number(new URLSearchParams(location.search).get("retries") ?? 3);

async function sendWithRetries(url, init) {
  for (let attempt = 1; ; attempt++) {
    let response;
    try {
      response = await fetch(url, init);
      if (response.status !== 429 && response.status < 500) return response;
    } catch (error) {
      if (init.signal?.aborted || attempt > retries) throw error;
    }
    if (attempt > retries) return response;
    const seconds = waitSeconds(response) ?? 2 ** (attempt - 1);
    say(`Waiting ${seconds} s, then sending again…`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

// What the answer says about when to try again, if the browser may read it.
function waitSeconds(response) {
  const after = Number(response?.headers.get("retry-after"));
  const reset = (Number(response?.headers.get("x-ratelimit-reset")) - Date.now()) / 1000;
  const seconds = after > 0 ? after : reset > 0 ? reset : undefined;
  return seconds && Math.min(Math.ceil(seconds), 30);
}

const textOf = (message) =>
  message.parts.filter((part) => part.type === "text").map((part) => part.text).join("");

function bubble(message) {
  const item = document.createElement("li");
  item.className = `message ${message.role}`;
  item.textContent = textOf(message);
  return item;
}

function say(text, error = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", error);
}

function update() {
  sendButton.disabled = busy || chat.closed;
  input.disabled = chat.closed;
  closeButton.disabled = busy || chat.closed || !chat.session;
}

function markClosed() {
  chat.closed = true;
  save();
  update();
  say("This chat is closed.");
}

// Render a reply chunk by chunk, saving it as it grows.
async function showReply(stream) {
  busy = true;
  update();
  const item = list.appendChild(bubble({ role: "assistant", parts: [] }));
  item.classList.add("streaming");
  const index = chat.messages.length;
  try {
    for await (const message of readUIMessageStream({ stream })) {
      item.textContent = textOf(message);
      chat.messages[index] = message;
      save();
    }
  } catch (error) {
    say(`The reply broke off: ${error.message}`, true);
  } finally {
    item.classList.remove("streaming");
    busy = false;
    update();
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || busy || chat.closed) return;
  const message = { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text }] };
  chat.messages.push(message);
  save();
  const item = list.appendChild(bubble(message));
  input.value = "";
  busy = true;
  update();
  say("");
  let stream;
  try {
    stream = await transport.sendMessages({
      trigger: "submit-message",
      chatId: chat.id,
      messageId: undefined,
      messages: chat.messages,
      abortSignal: undefined,
    });
  } catch (error) {
    // Not sent: take the message back so it can be sent again.
    chat.messages.pop();
    save();
    item.remove();
    input.value = text;
    busy = false;
    update();
    if (!chat.closed) say(`Not sent: ${error.message}`, true);
    return;
  }
  say("");
  await showReply(stream);
});

closeButton.addEventListener("click", async () => {
  try {
    await post("/api/chat/close", chat.id);
    markClosed();
  } catch (error) {
    say(`Could not close the chat: ${error.message}`, true);
  }
});

$("new-chat").addEventListener("click", () => {
  sessionStorage.removeItem(STORE);
  location.reload();
});

// Start-up: show the transcript, and if a reply was streaming when the page went away,
// follow it again from where it began (the transport returns null when none was).
list.replaceChildren(...chat.messages.map(bubble));
update();
if (chat.closed) say("This chat is closed.");
const resumed = await transport.reconnectToStream({ chatId: chat.id });
if (resumed) {
  if (chat.messages.at(-1)?.role === "assistant") {
    chat.messages.pop(); // the part we had; the resumed stream replays the whole reply
    list.lastElementChild.remove();
  }
  await showReply(resumed);
}
