-- etcd's request shape for bench/cluster.py (the workload is in common.lua):
-- its v3 HTTP/JSON gateway, keys and values in base64.
-- POST /v3/kv/put {"key": b64, "value": b64}; POST /v3/kv/range {"key": b64}
-- (a linearizable read, etcd's default).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = {}
    for j = 3, 0, -1 do
      local k = math.floor(n / 64 ^ j) % 64
      chars[#chars + 1] = alphabet:sub(k + 1, k + 1)
    end
    if not b then chars[3], chars[4] = "=", "=" elseif not c then chars[4] = "=" end
    out[#out + 1] = table.concat(chars)
  end
  return table.concat(out)
end

local encoded = {}  -- key or value -> base64, computed once per thread
local function b64(s)
  local e = encoded[s]
  if not e then
    e = base64(s)
    encoded[s] = e
  end
  return e
end

local json_headers = {["Content-Type"] = "application/json"}

common.install({
  put = function(key, value)
    return wrk.format("POST", "/v3/kv/put", json_headers,
      '{"key": "' .. b64(key) .. '", "value": "' .. b64(value) .. '"}')
  end,
  get = function(key)
    return wrk.format("POST", "/v3/kv/range", json_headers, '{"key": "' .. b64(key) .. '"}')
  end,
})
