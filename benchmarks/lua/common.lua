-- Shared by every benchmark script: counts responses by status code in each wrk thread and,
-- at the end, prints one machine-readable line (BENCH_RESULT {json}) that benchmarks/run.py
-- parses. Latencies are in microseconds, as wrk measures them.
--
-- A script that needs per-request data sets `bench_setup_thread(thread, index)` and
-- `bench_init(args)` (see api_get.lua and enrollment.lua); this file provides setup/init/
-- response/done around them.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_index", thread_count - 1)
   table.insert(threads, thread)
end

statuses = {}

function init(args)
   if bench_init then
      bench_init(args)
   end
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

-- JSON for a flat table of numbers (keys become strings).
local function json_object(t)
   local parts = {}
   for k, v in pairs(t) do
      table.insert(parts, string.format('"%s":%d', tostring(k), v))
   end
   return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
   local by_status = {}
   for _, thread in ipairs(threads) do
      local counted = thread:get("statuses")
      for code, n in pairs(counted) do
         by_status[code] = (by_status[code] or 0) + n
      end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
      '"statuses":%s}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9),
      json_object(by_status)))
end
