"""Products, prices, customers, coupons and promotion codes through `StripeClient` (client.v1.…):
create, retrieve, update, list — and what each SDK call reads back."""

from __future__ import annotations

import pytest
import stripe

from helpers import unique


def test_products_create_retrieve_update_list(client: stripe.StripeClient):
    name = unique("Desk lamp")
    p = client.v1.products.create(
        params={"name": name, "description": "Warm", "metadata": {"room": "office", "w": "40"}}
    )
    assert p.id.startswith("prod_")
    assert (p.object, p.name, p.description, p.active, p.livemode) == ("product", name, "Warm", True, False)
    assert p.metadata.to_dict() == {"room": "office", "w": "40"}
    assert p.default_price is None and p.url is None, "nullable fields are there, as None"

    assert client.v1.products.retrieve(p.id).to_dict() == p.to_dict()

    # An empty string unsets (the Python SDK leaves None out of the request altogether).
    u = client.v1.products.update(p.id, params={"name": f"{name} II", "description": "", "metadata": {"w": ""}})
    assert (u.name, u.description) == (f"{name} II", None)
    assert u.metadata.to_dict() == {"room": "office"}
    off = client.v1.products.update(p.id, params={"active": False})
    assert off.active is False

    inactive = [x.id for x in client.v1.products.list(params={"active": False, "limit": 100}).auto_paging_iter()]
    assert p.id in inactive
    active = [x.id for x in client.v1.products.list(params={"active": True, "limit": 100}).auto_paging_iter()]
    assert p.id not in active


def test_prices_one_time_and_recurring(client: stripe.StripeClient):
    product = client.v1.products.create(params={"name": unique("Plan")})
    once = client.v1.prices.create(
        params={"product": product.id, "unit_amount": 1999, "currency": "usd", "nickname": "Once"}
    )
    monthly = client.v1.prices.create(
        params={
            "product": product.id,
            "unit_amount": 900,
            "currency": "usd",
            "recurring": {"interval": "month", "interval_count": 3},
            "expand": ["product"],
        }
    )
    assert (once.type, once.unit_amount, once.currency, once.recurring) == ("one_time", 1999, "usd", None)
    assert once.product == product.id
    assert monthly.type == "recurring"
    assert (monthly.recurring.interval, monthly.recurring.interval_count) == ("month", 3)
    assert monthly.product.name == product.name, "expand[0]=product embeds the product"

    got = client.v1.prices.retrieve(once.id, params={"expand": ["product"]})
    assert isinstance(got.product, stripe.Product) and got.product.id == product.id

    u = client.v1.prices.update(once.id, params={"nickname": "", "active": False, "lookup_key": unique("key")})
    assert (u.nickname, u.active) == (None, False)
    assert u.lookup_key.startswith("key-")

    recurring = client.v1.prices.list(params={"product": product.id, "type": "recurring"})
    assert [p.id for p in recurring.data] == [monthly.id]
    everything = client.v1.prices.list(params={"product": product.id})
    assert {p.id for p in everything.data} == {once.id, monthly.id}
    assert everything.url == "/v1/prices"


def test_customers(client: stripe.StripeClient):
    email = f"{unique('c')}@example.test"
    c = client.v1.customers.create(params={"email": email, "name": "Grace Hopper", "metadata": {"tier": "gold"}})
    assert c.id.startswith("cus_")
    assert (c.email, c.name, c.balance, c.delinquent) == (email, "Grace Hopper", 0, False)
    assert c.cash_balance.available.to_dict() == {}
    assert c.address is None and c.test_clock is None

    u = client.v1.customers.update(c.id, params={"name": "Rear Admiral Hopper", "metadata": {"tier": ""}})
    assert (u.name, u.metadata.to_dict()) == ("Rear Admiral Hopper", {})
    assert client.v1.customers.retrieve(c.id).name == "Rear Admiral Hopper"

    found = client.v1.customers.list(params={"email": email})
    assert [x.id for x in found.data] == [c.id]
    assert found.has_more is False


def test_coupons_and_their_deletion(client: stripe.StripeClient):
    percent = client.v1.coupons.create(params={"percent_off": 12.5, "duration": "once", "name": "Spring"})
    amount = client.v1.coupons.create(
        params={
            "id": unique("FIVE"),
            "amount_off": 500,
            "currency": "eur",
            "duration": "repeating",
            "duration_in_months": 3,
            "max_redemptions": 10,
        }
    )
    assert float(percent.percent_off) == 12.5 and percent.amount_off is None
    assert (amount.amount_off, amount.currency, amount.duration, amount.duration_in_months) == (
        500,
        "eur",
        "repeating",
        3,
    )
    assert (amount.max_redemptions, amount.times_redeemed, amount.valid) == (10, 0, True)

    assert client.v1.coupons.update(percent.id, params={"name": "Summer"}).name == "Summer"
    assert client.v1.coupons.retrieve(amount.id).id == amount.id
    listed = {c.id for c in client.v1.coupons.list(params={"limit": 100}).auto_paging_iter()}
    assert {percent.id, amount.id} <= listed

    gone = client.v1.coupons.delete(amount.id)
    assert (gone.id, gone.deleted) == (amount.id, True)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.coupons.retrieve(amount.id)
    assert (e.value.http_status, e.value.code) == (404, "resource_missing")


def test_promotion_codes_both_ways_of_naming_the_coupon(client: stripe.StripeClient):
    coupon = client.v1.coupons.create(params={"percent_off": 20, "duration": "forever"})
    code = unique("SAVE").upper()
    # 2023-08-16's way (`coupon`) and the pinned API version's way (`promotion[coupon]`).
    a = client.v1.promotion_codes.create(params={"coupon": coupon.id, "code": code, "max_redemptions": 5})
    b = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": coupon.id},
            "code": f"{code}B",
            "restrictions": {"first_time_transaction": True, "minimum_amount": 1000, "minimum_amount_currency": "usd"},
        }
    )
    for pc in (a, b):
        assert pc.id.startswith("promo_")
        assert pc.coupon.id == coupon.id, "2023-08-16 embeds the coupon"
        assert (pc.promotion.type, pc.promotion.coupon) == ("coupon", coupon.id), "the newer shape"
    assert (a.code, a.max_redemptions, a.times_redeemed, a.active) == (code, 5, 0, True)
    assert b.restrictions.first_time_transaction is True
    assert (b.restrictions.minimum_amount, b.restrictions.minimum_amount_currency) == (1000, "usd")

    off = client.v1.promotion_codes.update(a.id, params={"active": False, "metadata": {"why": "ended"}})
    assert (off.active, off.metadata.to_dict()) == (False, {"why": "ended"})
    assert client.v1.promotion_codes.retrieve(a.id).active is False

    by_code = client.v1.promotion_codes.list(params={"code": code.lower()})
    assert [x.id for x in by_code.data] == [a.id], "codes are case-insensitive"
    active = client.v1.promotion_codes.list(params={"coupon": coupon.id, "active": True})
    assert [x.id for x in active.data] == [b.id]
