-- POST /api/v1/sessions, a new externalId every time: "<prefix>-<thread>-<n>".
-- A body of about 320 bytes, shaped like the SDK's sessions.start.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local prefix = "create"
counter = 0  -- global: report.lua reads it from each thread
local body = '{"type":"chat.agent","externalId":"%s-%d-%d","taskIdentifier":"my-chat-agent",'
  .. '"triggerConfig":{"basePayload":{"chatId":"bench-chat","trigger":"submit-message",'
  .. '"model":"gpt-4o-mini"},"tags":["chat","bench"],"maxAttempts":3},'
  .. '"tags":["user:user_12345","bench"],"metadata":{"userId":"user_12345","plan":"pro"}}'

function init(args)
  prefix = args[1] or prefix
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/sessions", auth_headers,
    string.format(body, prefix, thread_number, counter))
end
