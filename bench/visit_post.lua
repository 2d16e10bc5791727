-- POST "record a visit" (continue) to a different open follow-up each time, read from a file.
dofile(os.getenv("BENCH_DIR") .. "/latency.lua")
local paths = {}
local body = nil
local i = 0
init = function(args)
  for line in io.lines(args[1]) do table.insert(paths, line) end
  body = args[2]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
request = function()
  i = i + 1
  return wrk.format("POST", paths[((i - 1) % #paths) + 1], nil, body)
end
