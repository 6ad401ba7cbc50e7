-- GET an API path as a rotating set of employees: each request carries the bearer token of the
-- next employee of this wrk thread's share, so 50 connections act as 50+ different people.
--   wrk -s api_get.lua <url> -- <data.lua> <group> <path>
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local prepared = {}
local next_index = 0

function bench_init(args)
   local data = dofile(args[1])
   local tokens = data.groups[args[2]][thread_index + 1]
   for i, token in ipairs(tokens) do
      prepared[i] = wrk.format("GET", args[3], {
         ["Authorization"] = "Bearer " .. token,
         ["Accept"] = "application/json",
      })
   end
end

function request()
   next_index = next_index % #prepared + 1
   return prepared[next_index]
end
