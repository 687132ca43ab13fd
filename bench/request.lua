-- Verify Request: POST /verify/json, a new valid Indian mobile number on
-- every request (919 + 9 digits), so none answers 10 (concurrent).
-- Thread t numbers from BENCH_NUM_OFFSET + t * 10^7 upwards.

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
	bench_init()
	n = tonumber(os.getenv("BENCH_NUM_OFFSET") or "0") + tid * 10000000
	wrk.method = "POST"
	wrk.path = "/verify/json"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
	n = n + 1
	return wrk.format(nil, nil, nil,
			  string.format("number=919%09d&brand=Bench", n))
end
