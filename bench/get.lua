-- wrk script: GET / with one of the pre-made session cookies per request.
-- BENCH_COOKIES names a file with one Cookie header value per line (made by
-- bench-cookies); each request picks a line at random. A one-line file is
-- the hot single-session workload. The requests are formatted once, in
-- init(), so wrk's Lua costs one table lookup per request.
local requests = {}

function init(args)
   local path = assert(os.getenv("BENCH_COOKIES"), "set BENCH_COOKIES")
   for line in io.lines(path) do
      if line ~= "" then
         requests[#requests + 1] = wrk.format("GET", "/", {
            Host = wrk.headers["Host"],
            Cookie = line,
         })
      end
   end
   assert(#requests > 0, "no cookies in " .. path)
   math.randomseed(os.time())
end

function request()
   return requests[math.random(#requests)]
end
