-- Shared by the bench scripts: Basic auth header, per-thread ids, counting
-- the dialect status of every response and printing the tally at the end.
-- Settings come from the environment run.sh exports (BENCH_*).

local threads = {}

-- setup() runs in the main Lua state once per wrk thread, before init().
function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

-- Per-thread state; scripts call this from their own init().
function bench_init()
	counts = {}
	seen = {}
	math.randomseed(os.time() + tid)
	wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH")
end

-- Reads one request id per line from BENCH_IDS_FILE into a table.  With
-- BENCH_IDS_SIDE 0 or 1 (run_pair's two wrk processes), only every other
-- line, from the first or the second: two nodes' clients then never work
-- on the same verification at once, as two nodes' users would not.
function bench_read_ids()
	local ids = {}
	local side = tonumber(os.getenv("BENCH_IDS_SIDE") or "")
	local n = 0
	local f = assert(io.open(os.getenv("BENCH_IDS_FILE"), "r"))
	for line in f:lines() do
		if #line > 0 then
			n = n + 1
			if side == nil or n % 2 == side then
				ids[#ids + 1] = line
			end
		end
	end
	f:close()
	assert(#ids > 0, "no request ids in " .. os.getenv("BENCH_IDS_FILE"))
	return ids
end

-- The class of a response: the first "status" value of the JSON body
-- (a code, or a state name for a search hit), or "http<code>" if none.
-- Only in validation runs (BENCH_VALIDATE=1): with a response hook wrk hands
-- every body to Lua, which costs wrk itself more than the server's reply
-- and would make wrk, not the server, the bottleneck of a measured run.
-- With BENCH_IDS_OUT as well, the request ids of the replies are kept and
-- appended to that file at the end (how run.sh learns ids from a store it
-- does not read itself).
ids_out = os.getenv("BENCH_IDS_OUT")
if ids_out == "" then
	ids_out = nil
end
if os.getenv("BENCH_VALIDATE") == "1" then
	function response(status, headers, body)
		local s = body:match('"status"%s*:%s*"([^"]*)"')
		if s == nil then
			s = "http" .. status
		end
		counts[s] = (counts[s] or 0) + 1
		if ids_out then
			local id = body:match('"request_id"%s*:%s*"([^"]+)"')
			if id then
				seen[#seen + 1] = id
			end
		end
	end
end

-- Pacing for the half-load runs: each connection waits about
-- BENCH_DELAY_MS after every response, so the offered rate is about
-- connections * 1000 / (BENCH_DELAY_MS + latency).  The pause is drawn
-- uniformly from [0.5, 1.5] * BENCH_DELAY_MS and rounded (wrk counts whole
-- ms): equal pauses keep the connections in step and turn the load into
-- bursts of one request per connection, which queue.
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms ~= nil and delay_ms > 0 then
	function delay()
		return math.floor(delay_ms * (0.5 + math.random()) + 0.5)
	end
end

-- Prints "statuses: a=n b=m" and "unexpected responses: N", where the
-- expected classes are the comma-separated BENCH_EXPECT.
function done(summary, latency, requests)
	local total = {}
	for _, t in ipairs(threads) do
		local c = t:get("counts") or {}
		for k, v in pairs(c) do
			total[k] = (total[k] or 0) + v
		end
	end
	local expect = {}
	for e in string.gmatch(os.getenv("BENCH_EXPECT") or "", "[^,]+") do
		expect[e] = true
	end
	local keys, bad = {}, 0
	for k, v in pairs(total) do
		keys[#keys + 1] = k
		if not expect[k] then
			bad = bad + v
		end
	end
	table.sort(keys)
	local parts = {}
	for _, k in ipairs(keys) do
		parts[#parts + 1] = k .. "=" .. total[k]
	end
	if os.getenv("BENCH_VALIDATE") == "1" then
		print("statuses: " .. table.concat(parts, " "))
		print("unexpected responses: " .. bad)
	end
	if ids_out then
		local f = assert(io.open(ids_out, "a"))
		for _, t in ipairs(threads) do
			for _, id in ipairs(t:get("seen") or {}) do
				f:write(id, "\n")
			end
		end
		f:close()
	end
end
