-- Plain GET of the URL given to wrk, paced by BENCH_DELAY_MS (common.lua):
-- the half-load baseline on /healthz, which has no auth and no status.

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
	bench_init()
end

-- /healthz answers no dialect status: count HTTP codes instead.
function response(status, headers, body)
	local s = "http" .. status
	counts[s] = (counts[s] or 0) + 1
end
