-- wrk script: bench/create_session.lua, and every session the server acknowledged (a 201 with its
-- id) written at once to "$KASSA_BENCH_ACK.<thread>", one id per line (bench/kill9 reads them back
-- after killing the server).
dofile("bench/create_session.lua")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local out
function init(args)
  out = assert(io.open(os.getenv("KASSA_BENCH_ACK") .. "." .. tid, "w"))
end

response = function(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"(cs_[^"]+)"')
    if id then
      out:write(id, "\n")
      out:flush()
    end
  end
end
