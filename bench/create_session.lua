-- wrk script: POST /checkout/session with a JSON body naming one price (set by bench/run).
local price = os.getenv("KASSA_BENCH_PRICE")
local key = os.getenv("KASSA_BENCH_KEY")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"line_items":[{"price":"' .. price .. '","quantity":2}],"mode":"payment","success_url":"https://shop.test/ok?s={CHECKOUT_SESSION_ID}","cancel_url":"https://shop.test/cart"}'

local errors = 0
response = function(status, headers, body)
  if status ~= 201 then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n") end
  end
end
