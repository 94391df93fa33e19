"""Checkout parity (issue 15) through Stripe's own Python SDK: inline prices (`price_data`),
`mode=setup` and its setup intent, manual capture with `PaymentIntent.capture`, a session's
metadata updated, and the error body's shape."""

from __future__ import annotations

import pytest
import stripe

from helpers import Kassa, unique

OK_URL = "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}"


def test_price_data_creates_the_price_and_product_inline(kassa: Kassa):
    name = unique("Tote bag")
    s = stripe.checkout.Session.create(
        mode="payment",
        line_items=[
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1850,
                    "product_data": {"name": name, "description": "Canvas", "metadata": {"sku": "T-1"}},
                },
                "quantity": 2,
                "metadata": {"line": "tote"},
            }
        ],
        success_url=OK_URL,
        expand=["line_items.data.price.product"],
    )
    assert (s.amount_total, s.currency) == (3700, "eur")
    item = s.line_items.data[0]
    assert (item.description, item.quantity, item.metadata["line"]) == (name, 2, "tote")
    price = item.price
    assert isinstance(price, stripe.Price) and price.active is False and price.unit_amount == 1850
    product = price.product
    assert isinstance(product, stripe.Product)
    assert (product.name, product.description, product.metadata["sku"], product.active) == (name, "Canvas", "T-1", False)
    assert stripe.Price.retrieve(price.id).product == product.id

    paid = kassa.pay_by_card(s.id, email="tote@example.test", name="To Te")
    assert paid.status_code == 303
    assert stripe.checkout.Session.retrieve(s.id).payment_status == "paid"


def test_price_data_refusals_are_invalid_request_errors(kassa: Kassa):
    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.checkout.Session.create(
            line_items=[{"price_data": {"currency": "usd", "unit_amount": 100}, "quantity": 1}],
            success_url=OK_URL,
        )
    assert (e.value.param, e.value.code) == ("line_items[0][price_data][product_data]", "parameter_missing")
    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.checkout.Session.create(
            line_items=[
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 100,
                        "unit_amount_decimal": "100",
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ],
            success_url=OK_URL,
        )
    assert (e.value.param, e.value.code) == ("line_items[0][price_data][unit_amount_decimal]", "parameters_exclusive")
    # What does not apply is left out of the body, not sent as null.
    assert "decline_code" not in e.value.json_body["error"]


def test_setup_mode_saves_a_card_and_makes_a_setup_intent(kassa: Kassa):
    s = stripe.checkout.Session.create(
        mode="setup",
        currency="usd",
        setup_intent_data={"description": "Card on file", "metadata": {"plan": "later"}},
        success_url=OK_URL,
    )
    assert (s.mode, s.amount_total, s.payment_status) == ("setup", 0, "no_payment_required")
    paid = kassa.pay_by_card(s.id, email="saver@example.test", name="Sa Ver")
    assert paid.status_code == 303

    done = stripe.checkout.Session.retrieve(s.id, expand=["setup_intent"])
    assert done.status == "complete" and done.payment_intent is None
    si = done.setup_intent
    assert isinstance(si, stripe.SetupIntent)
    assert (si.status, si.usage, si.customer, si.description) == ("succeeded", "off_session", done.customer, "Card on file")
    assert si.metadata["plan"] == "later"
    assert stripe.SetupIntent.retrieve(si.id).payment_method == si.payment_method
    assert [x.id for x in stripe.SetupIntent.list(customer=done.customer).data] == [si.id]
    method = stripe.PaymentMethod.retrieve(si.payment_method)
    assert (method.customer, method.card.last4) == (done.customer, "4242")


def test_manual_capture_then_capture_through_the_sdk(kassa: Kassa):
    s = stripe.checkout.Session.create(
        line_items=[{"price_data": {"currency": "usd", "unit_amount": 4000, "product_data": {"name": "Bike"}}, "quantity": 1}],
        payment_intent_data={"capture_method": "manual", "description": "Hold for the bike", "metadata": {"order": "7"}},
        success_url=OK_URL,
    )
    kassa.pay_by_card(s.id, email="bike@example.test", name="Bi Ke")
    done = stripe.checkout.Session.retrieve(s.id, expand=["payment_intent"])
    assert (done.status, done.payment_status) == ("complete", "unpaid")
    pi = done.payment_intent
    assert (pi.status, pi.amount_capturable, pi.capture_method, pi.description) == (
        "requires_capture",
        4000,
        "manual",
        "Hold for the bike",
    )
    captured = stripe.PaymentIntent.capture(pi.id, amount_to_capture=3500)
    assert (captured.status, captured.amount_received) == ("succeeded", 3500)
    with pytest.raises(stripe.InvalidRequestError):
        stripe.PaymentIntent.capture(pi.id)


def test_an_open_sessions_metadata_is_updated(kassa: Kassa):
    s = stripe.checkout.Session.create(
        line_items=[{"price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Pin"}}, "quantity": 1}],
        metadata={"a": "1"},
        success_url=OK_URL,
    )
    updated = stripe.checkout.Session.modify(s.id, metadata={"b": "2"})
    assert updated.metadata.to_dict() == {"a": "1", "b": "2"}
