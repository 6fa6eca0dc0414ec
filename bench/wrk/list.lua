-- GET /api/v1/sessions: the newest page of 20 (page[size]=20), however many are stored.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

function request()
  return wrk.format("GET", "/api/v1/sessions?page%5Bsize%5D=20", auth_headers)
end
