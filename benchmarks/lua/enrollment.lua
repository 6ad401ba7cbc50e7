-- Enroll and cancel through the API so that every request does real work.
--
-- Each wrk thread owns its own employees (no two threads share a person) and walks through all
-- (employee, offering) pairs of its share in a fixed order: the first pass POSTs an enrollment
-- for every pair (a seat claim: the offerings have room for everybody), the next pass DELETEs
-- them again (a seat release plus the waitlist check), then POST again, and so on. Between the
-- POST and the DELETE of one pair lie all the other pairs of the thread (hundreds of requests),
-- so the POST has long been answered when its DELETE goes out. Consecutive requests belong to
-- different employees and rotate over the offerings, as independent people would.
--   wrk -s enrollment.lua <url> -- <data.lua> <group>
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local posts, deletes = {}, {}
local pair_count = 0
local sent = 0

function bench_init(args)
   local data = dofile(args[1])
   local tokens = data.groups[args[2]][thread_index + 1]
   local offerings = data.offerings
   local people, offers = #tokens, #offerings
   pair_count = people * offers
   for k = 0, pair_count - 1 do
      local person = k % people
      local offer = (math.floor(k / people) + person) % offers
      local path = "/api/v1/offerings/" .. offerings[offer + 1] .. "/enrollment"
      local headers = {
         ["Authorization"] = "Bearer " .. tokens[person + 1],
         ["Accept"] = "application/json",
      }
      posts[k + 1] = wrk.format("POST", path, headers)
      deletes[k + 1] = wrk.format("DELETE", path, headers)
   end
end

function request()
   local k = sent % pair_count
   local pass = math.floor(sent / pair_count)
   sent = sent + 1
   if pass % 2 == 0 then
      return posts[k + 1]
   end
   return deletes[k + 1]
end
