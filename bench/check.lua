-- Verify Check: POST /verify/check/json with a wrong code, cycling over the
-- ids in BENCH_IDS_FILE.  The code has 5 digits, so it never equals a
-- 4-digit PIN: each id answers 16, 16, then 17 (FAILED) and 17 after that.
-- As in search.lua, every request's text is built once, in init().

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
	bench_init()
	local ids = bench_read_ids()
	wrk.method = "POST"
	wrk.path = "/verify/check/json"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
	reqs = {}
	for k, id in ipairs(ids) do
		reqs[k] = wrk.format(nil, nil, nil,
				     "request_id=" .. id .. "&code=12345")
	end
	i = (tid * 7919) % #reqs
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end
