-- Verify Search: GET /verify/search/json?request_id=ID, cycling over the
-- ids in BENCH_IDS_FILE; each thread starts at a different place.

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
	bench_init()
	ids = bench_read_ids()
	i = (tid * 7919) % #ids
end

function request()
	i = i % #ids + 1
	return wrk.format("GET", "/verify/search/json?request_id=" .. ids[i])
end
