-- Loaded by every scenario: numbers each wrk thread (so ids never collide) and prints the
-- run's figures as one JSON line for bench/run.py.
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

-- The fewest requests any one thread made: "<prefix>-<thread>-<n>" exists for n up to it.
local function fewest_per_thread()
  local fewest = nil
  for _, thread in ipairs(threads) do
    local made = thread:get("counter") or 0
    if fewest == nil or made < fewest then fewest = made end
  end
  return fewest or 0
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"non_2xx":%d,"socket_errors":%d,"per_thread":%d}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout, fewest_per_thread()))
end

auth_headers = {
  ["Authorization"] = "Bearer " .. (os.getenv("BENCH_SECRET_KEY") or "tr_dev_bench"),
  ["Content-Type"] = "application/json",
}
