-- The workload of bench/cluster.py, shared by every side. A side's script
-- (vdynamo.lua, etcd.lua) gives only the shape of its two requests and calls
-- install(shape); everything else (keys, values, randomness, the report) is here.
--
-- Script arguments (after wrk's `--`): OP KEYS VALUE_BYTES PREFIX SEED
--   OP           put | get
--   KEYS         size of the key space: keys are PREFIX .. %08d of [0, KEYS)
--   VALUE_BYTES  size of every put's value
--   PREFIX       keeps the put and get key spaces apart
--   SEED         with the thread's index, seeds the thread's key sequence
-- Each request picks a key uniformly at random from the key space.
--
-- done() prints one machine-readable line that bench/cluster.py parses:
--   BENCH {"requests": N, "duration_us": D, "bytes": B, "errors": {...},
--          "latency_us": {"p50": .., "p90": .., "p99": .., "p999": .., "max": .., "mean": ..}}
-- errors.status counts responses with a status outside 2xx/3xx (wrk's
-- "Non-2xx or 3xx responses"); connect/read/write/timeout are socket errors.

local M = {}

local threads = 0

function M.install(shape)
  function setup(thread)
    threads = threads + 1
    thread:set("thread_index", threads)
  end

  function init(args)
    op = args[1]
    keys = tonumber(args[2])
    local value_bytes = tonumber(args[3])
    prefix = args[4]
    local seed = tonumber(args[5])
    if (op ~= "put" and op ~= "get") or not keys or not value_bytes or not prefix or not seed then
      error("usage: -- put|get KEYS VALUE_BYTES PREFIX SEED")
    end
    math.randomseed(seed * 1000 + thread_index)
    value = string.rep("v", value_bytes)
  end

  function request()
    local key = string.format("%s%08d", prefix, math.random(0, keys - 1))
    if op == "put" then
      return shape.put(key, value)
    end
    return shape.get(key)
  end

  function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"p50": %.0f, "p90": %.0f, "p99": %.0f, "p999": %.0f, ' ..
      '"max": %.0f, "mean": %.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
  end
end

return M
