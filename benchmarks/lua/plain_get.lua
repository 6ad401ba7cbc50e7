-- GET a path without credentials (the baselines /healthz and /readyz).
--   wrk -s plain_get.lua <url>/<path>
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")
