-- wrk script: replay exactly the requests a `berth plan` made, in the order the registry logged
-- them, over and over (tests/bench/verify.sh). The raw ceiling of the same work berth does.
--
-- Usage: wrk -s verify-mix.lua URL -- MIX_FILE ACCEPT
--   MIX_FILE: one request per line, `METHOD PATH` (from the registry's access log);
--   ACCEPT:   the Accept header berth sends for manifests (MANIFEST_ACCEPT in
--             src/registry/manifest.rs), sent with every manifest request.

local requests = {}
local next_index = 1

function init(args)
  local file, accept = args[1], args[2]
  for line in io.lines(file) do
    local method, path = line:match("^(%u+) (%S+)$")
    if method then
      local headers = {}
      if path:find("/manifests/", 1, true) then
        headers["Accept"] = accept
      end
      requests[#requests + 1] = wrk.format(method, path, headers)
    end
  end
  assert(#requests > 0, "no requests in " .. file)
  -- Each thread starts at its own place in the mix, as berth's concurrent requests do.
  next_index = (id or 0) * math.floor(#requests / 2) % #requests + 1
end

function setup(thread)
  thread_count = (thread_count or 0) + 1
  thread:set("id", thread_count - 1)
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end

-- (No `response` hook: it would make wrk read every body into Lua and lower the ceiling.)
function done(summary, latency, requests_)
  io.write(string.format("mix: %d requests replayed, %d non-2xx/3xx\n",
    summary.requests, summary.errors.status))
end
