-- vdynamo's request shape for bench/cluster.py (the workload is in common.lua).
-- PUT /kv/KEY with the raw value and no context (a blind write); GET /kv/KEY.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local put_headers = {["Content-Type"] = "application/octet-stream"}

common.install({
  put = function(key, value)
    return wrk.format("PUT", "/kv/" .. key, put_headers, value)
  end,
  get = function(key)
    return wrk.format("GET", "/kv/" .. key)
  end,
})
