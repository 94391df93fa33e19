-- wrk script: POST /checkout/session as the integrations of issue 15 send it: an inline price
-- (price_data with product_data), a required billing address and tax id collection (bench/run
-- compares its rate with create_session.lua's, in the same run).
local key = os.getenv("KASSA_BENCH_KEY")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"line_items":[{"price_data":{"currency":"usd","unit_amount":1999,"product_data":{"name":"Bench T-shirt","description":"Organic cotton"}},"quantity":2}],"mode":"payment","billing_address_collection":"required","tax_id_collection":{"enabled":true},"success_url":"https://shop.test/ok?s={CHECKOUT_SESSION_ID}","cancel_url":"https://shop.test/cart"}'

local errors = 0
response = function(status, headers, body)
  if status ~= 201 then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n") end
  end
end
