-- POST /api/v1/sessions/{session}/close on the sessions create.lua made with the same
-- prefix, in the same order: "<prefix>-<thread>-<n>" for n = 1 .. count (then again,
-- when the run outlasts them: closing a closed session is an idempotent 200).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local prefix = "close"
local count = 1000
counter = 0  -- global: report.lua reads it from each thread
local body = '{"reason":"benchmark"}'

function init(args)
  prefix = args[1] or prefix
  count = tonumber(args[2]) or count
end

function request()
  counter = counter % count + 1
  local path = string.format("/api/v1/sessions/%s-%d-%d/close", prefix, thread_number, counter)
  return wrk.format("POST", path, auth_headers, body)
end
