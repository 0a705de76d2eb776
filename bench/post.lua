-- wrk script: POST /petname with one of the pre-made session cookies per
-- request and a pet name never sent before (a counter), so every POST
-- changes the session and every contender writes, even one that skips
-- unchanged values. BENCH_COOKIES names a file with one Cookie header value
-- per line (made by bench-cookies); each request picks a line at random. A
-- one-line file is the hot single-session workload. The request head up to
-- Content-Length is formatted once per cookie, in init().
local heads = {}
local counter = 0

function init(args)
   local path = assert(os.getenv("BENCH_COOKIES"), "set BENCH_COOKIES")
   for line in io.lines(path) do
      if line ~= "" then
         heads[#heads + 1] = "POST /petname HTTP/1.1\r\nHost: " .. wrk.headers["Host"]
            .. "\r\nCookie: " .. line
            .. "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "
      end
   end
   assert(#heads > 0, "no cookies in " .. path)
   math.randomseed(os.time())
end

function request()
   counter = counter + 1
   local body = "pet=Pet" .. counter
   return heads[math.random(#heads)] .. #body .. "\r\n\r\n" .. body
end
