-- GET a rotating list of paths read from a file (one per line): a mix of pages and records.
dofile(os.getenv("BENCH_DIR") .. "/latency.lua")
local paths = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do table.insert(paths, line) end
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[((i - 1) % #paths) + 1])
end
