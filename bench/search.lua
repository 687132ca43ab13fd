-- Verify Search: GET /verify/search/json?request_id=ID, cycling over the
-- ids in BENCH_IDS_FILE; each thread starts at a different place.  Every
-- request's text is built once, in init(): wrk shares the cores with the
-- server, and building it at each request cost wrk more CPU than the
-- healthz phase's fixed request does (bench/README.md, "wrk's own cost").

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
	bench_init()
	local ids = bench_read_ids()
	reqs = {}
	for k, id in ipairs(ids) do
		reqs[k] = wrk.format("GET", "/verify/search/json?request_id=" .. id)
	end
	i = (tid * 7919) % #reqs
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end
