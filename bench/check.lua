-- Verify Check: POST /verify/check/json with a wrong code, cycling over the
-- ids in BENCH_IDS_FILE.  The code has 5 digits, so it never equals a
-- 4-digit PIN: each id answers 16, 16, then 17 (FAILED) and 17 after that.

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
	bench_init()
	ids = bench_read_ids()
	i = (tid * 7919) % #ids
	wrk.method = "POST"
	wrk.path = "/verify/check/json"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
	i = i % #ids + 1
	return wrk.format(nil, nil, nil,
			  "request_id=" .. ids[i] .. "&code=12345")
end
