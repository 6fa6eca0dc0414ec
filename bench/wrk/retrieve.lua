-- GET /api/v1/sessions/{session}: one stored session, by the externalId given as argument.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local path

function init(args)
  path = "/api/v1/sessions/" .. (args[1] or "retrieve-target")
end

function request()
  return wrk.format("GET", path, auth_headers)
end
