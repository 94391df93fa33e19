-- wrk script: POST /customers (each one writes a customer.created event), key set by bench/webhooks.
local key = os.getenv("KASSA_BENCH_KEY")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = "email=bench%40example.test&name=Bench"

local errors = 0
response = function(status, headers, body)
  if status ~= 201 then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n") end
  end
end
