"""Checkout sessions through the module-level API (`stripe.checkout.Session`, with
`stripe.api_base` pointed at kassa): created with line items, adjustable quantities, discounts and
metadata; retrieved with expand; listed with auto-pagination; expired; their line items listed;
and a subscription with a trial."""

from __future__ import annotations

import datetime

import pytest
import requests
import stripe

from helpers import Kassa, unique


def price(amount: int, currency: str = "usd", interval: str | None = None, name: str = "Item") -> stripe.Price:
    product = stripe.Product.create(name=unique(name))
    extra = {"recurring": {"interval": interval}} if interval else {}
    return stripe.Price.create(product=product.id, unit_amount=amount, currency=currency, **extra)


def test_create_with_line_items_adjustable_quantity_discount_and_metadata(kassa: Kassa):
    shirt, mug = price(2500, name="T-shirt"), price(1000, name="Mug")
    coupon = stripe.Coupon.create(percent_off=10, duration="once")
    expires = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(hours=2)
    s = stripe.checkout.Session.create(
        mode="payment",
        expires_at=expires,  # the SDK sends a datetime as Unix seconds
        line_items=[
            {"price": shirt.id, "quantity": 2, "adjustable_quantity": {"enabled": True, "minimum": 1, "maximum": 5}},
            {"price": mug.id, "quantity": 1},
        ],
        discounts=[{"coupon": coupon.id}],
        metadata={"order": "6735"},
        client_reference_id="cart-6735",
        success_url="https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example/cart",
        payment_method_types=["card", "paypal"],
        expand=["line_items"],
    )
    assert s.id.startswith("cs_test_")
    assert (s.object, s.status, s.payment_status, s.mode) == ("checkout.session", "open", "unpaid", "payment")
    assert s.url == kassa.page(s.id)
    assert s.expires_at == int(expires.timestamp())
    assert (s.amount_subtotal, s.total_details.amount_discount, s.amount_total) == (6000, 600, 5400)
    assert (s.currency, s.client_reference_id, s.metadata.to_dict()) == ("usd", "cart-6735", {"order": "6735"})
    assert s.success_url == "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}"
    assert s.payment_method_types == ["card", "paypal"]
    assert s.discounts[0].coupon == coupon.id
    assert s.customer is None and s.payment_intent is None and s.client_secret is None
    lines = s.line_items.data
    assert [(li.price.id, li.quantity) for li in lines] == [(shirt.id, 2), (mug.id, 1)]
    assert (lines[0].adjustable_quantity.minimum, lines[0].adjustable_quantity.maximum) == (1, 5)
    assert lines[1].adjustable_quantity is None
    assert sum(li.amount_discount for li in lines) == 600
    # The hosted page is there.
    assert requests.get(s.url, timeout=10).status_code == 200


def test_retrieve_with_nested_expand():
    p = price(700, "eur", name="Beans")
    coupon = stripe.Coupon.create(amount_off=100, currency="eur", duration="once")
    code = stripe.PromotionCode.create(coupon=coupon.id, code=unique("BEANS").upper())
    s = stripe.checkout.Session.create(
        line_items=[{"price": p.id, "quantity": 3}],
        discounts=[{"promotion_code": code.id}],
        success_url="https://shop.example/ok",
    )
    got = stripe.checkout.Session.retrieve(
        s.id, expand=["line_items.data.price.product", "discounts.coupon", "discounts.promotion_code"]
    )
    product = got.line_items.data[0].price.product
    assert isinstance(product, stripe.Product) and product.id == p.product
    assert got.discounts[0].coupon.amount_off == 100
    assert got.discounts[0].promotion_code.code == code.code
    assert got.amount_total == 2000
    plain = stripe.checkout.Session.retrieve(s.id)
    assert "line_items" not in plain, "line_items only when asked for"
    assert plain.discounts[0].coupon == coupon.id


def test_list_with_auto_pagination():
    customer = stripe.Customer.create(email=f"{unique('list')}@example.test")
    p = price(300)
    made = [
        stripe.checkout.Session.create(
            customer=customer.id, line_items=[{"price": p.id, "quantity": 1}], success_url="https://shop.example/ok"
        ).id
        for _ in range(7)
    ]
    first = stripe.checkout.Session.list(customer=customer.id, limit=3)
    assert (len(first.data), first.has_more, first.url) == (3, True, "/v1/checkout/sessions")
    seen = [s.id for s in first.auto_paging_iter()]
    assert seen == list(reversed(made)), "newest first, every one once, across three pages"
    # Backwards from the oldest: the SDK pages with ending_before.
    back = [
        s.id
        for s in stripe.checkout.Session.list(customer=customer.id, limit=2, ending_before=made[0]).auto_paging_iter()
    ]
    assert back == made[1:]
    expanded = stripe.checkout.Session.list(customer=customer.id, limit=1, expand=["data.customer"])
    assert expanded.data[0].customer.email == customer.email


def test_expire(kassa: Kassa):
    p = price(1200)
    s = stripe.checkout.Session.create(
        line_items=[{"price": p.id, "quantity": 1}], success_url="https://shop.example/ok"
    )
    done = stripe.checkout.Session.expire(s.id)
    assert (done.id, done.status, done.url) == (s.id, "expired", None)
    assert stripe.checkout.Session.retrieve(s.id).status == "expired"
    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.checkout.Session.expire(s.id)
    assert e.value.http_status == 400
    assert "expired" in e.value.user_message
    page = requests.get(kassa.page(s.id), timeout=10)
    assert 'data-testid="session-expired"' in page.text


def test_line_items_listed_and_paginated():
    prices = [price(100 * (i + 1), name=f"Line {i}") for i in range(3)]
    s = stripe.checkout.Session.create(
        line_items=[{"price": p.id, "quantity": i + 1} for i, p in enumerate(prices)],
        success_url="https://shop.example/ok",
    )
    page = stripe.checkout.Session.list_line_items(s.id, limit=2)
    assert (len(page.data), page.has_more) == (2, True)
    assert page.url == f"/v1/checkout/sessions/{s.id}/line_items"
    items = list(page.auto_paging_iter())
    assert [(li.price.id, li.quantity, li.amount_total) for li in items] == [
        (prices[0].id, 1, 100),
        (prices[1].id, 2, 400),
        (prices[2].id, 3, 900),
    ]
    assert all(li.object == "item" and li.id.startswith("li_") for li in items)
    with_products = stripe.checkout.Session.list_line_items(s.id, expand=["data.price.product"])
    assert with_products.data[0].price.product.id == prices[0].product


def test_subscription_with_a_trial(kassa: Kassa):
    plan = price(1500, interval="month", name="Pro plan")
    setup = price(500, name="Setup fee")
    s = stripe.checkout.Session.create(
        mode="subscription",
        line_items=[{"price": plan.id, "quantity": 1}, {"price": setup.id, "quantity": 1}],
        subscription_data={"trial_period_days": 14},
        success_url="https://shop.example/welcome",
    )
    assert (s.mode, s.status, s.subscription) == ("subscription", "open", None)
    assert (s.amount_subtotal, s.amount_total) == (500, 500), "the plan is free today; the one-time fee is not"

    paid = kassa.pay_by_card(s.id, email="sub@example.test")
    assert (paid.status_code, paid.headers["location"]) == (303, "https://shop.example/welcome")

    done = stripe.checkout.Session.retrieve(s.id, expand=["subscription", "customer", "invoice"])
    assert done.status == "complete"
    sub = done.subscription
    assert isinstance(sub, stripe.Subscription)
    assert (sub.status, sub.customer) == ("trialing", done.customer.id)
    assert sub.trial_end - sub.trial_start == 14 * 86400
    assert [item.price.id for item in sub["items"].data] == [plan.id]
    assert done.invoice.id == sub.latest_invoice
    assert done.customer.email == "sub@example.test"
    again = stripe.Subscription.retrieve(sub.id, expand=["latest_invoice"])
    assert again.latest_invoice.amount_paid == 500
    listed = stripe.Subscription.list(customer=done.customer.id)
    assert [x.id for x in listed.data] == [sub.id]
