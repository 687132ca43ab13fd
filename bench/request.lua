-- Verify Request: POST /verify/json, a new valid Indian mobile number on
-- every request (919 + 9 digits), so none answers 10 (concurrent).
-- Thread t numbers from BENCH_NUM_OFFSET + t * 10^7 upwards.  The body's
-- length never changes, so the request's text is built once, in init(),
-- around the 9 digits, and each request only puts them in (as in
-- search.lua, to keep wrk's own cost per request low).

dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local BODY = "number=919000000000&brand=Bench"
local DIGITS_AT = #"number=919" -- the 9 digits follow

function init(args)
	bench_init()
	n = tonumber(os.getenv("BENCH_NUM_OFFSET") or "0") + tid * 10000000
	wrk.method = "POST"
	wrk.path = "/verify/json"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
	local text = wrk.format(nil, nil, nil, BODY)
	local body_at = #text - #BODY
	head = text:sub(1, body_at + DIGITS_AT)
	tail = text:sub(body_at + DIGITS_AT + 10)
end

function request()
	n = n + 1
	return head .. string.format("%09d", n) .. tail
end
