"""A session paid on its hosted page (the plain form posts the page sends, from the same origin),
then read back through the SDK with its payment intent and customer expanded; a decline read
back as the payment intent's last_payment_error; a bank transfer funded with the SDK's test
helper."""

from __future__ import annotations

import stripe

from helpers import Kassa, unique


def one_time_price(amount: int) -> stripe.Price:
    product = stripe.Product.create(name=unique("Espresso beans"))
    return stripe.Price.create(product=product.id, unit_amount=amount, currency="usd")


def test_paid_on_the_hosted_page_and_read_back_expanded(kassa: Kassa):
    p = one_time_price(2500)
    s = stripe.checkout.Session.create(
        line_items=[{"price": p.id, "quantity": 2}],
        success_url="https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example/cart",
    )
    paid = kassa.pay_by_card(s.id, email="ada@example.test", name="Ada Lovelace")
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://shop.example/thanks?session={s.id}"

    done = stripe.checkout.Session.retrieve(s.id, expand=["payment_intent", "customer"])
    assert (done.status, done.payment_status, done.url) == ("complete", "paid", None)
    assert (done.customer_details.email, done.customer_details.name) == ("ada@example.test", "Ada Lovelace")
    customer, intent = done.customer, done.payment_intent
    assert isinstance(customer, stripe.Customer) and customer.id.startswith("cus_")
    assert (customer.email, customer.name) == ("ada@example.test", "Ada Lovelace")
    assert isinstance(intent, stripe.PaymentIntent)
    assert (intent.status, intent.amount, intent.amount_received, intent.currency) == ("succeeded", 5000, 5000, "usd")
    assert intent.customer == customer.id
    assert intent.last_payment_error is None and intent.client_secret is None

    method = stripe.PaymentMethod.retrieve(intent.payment_method)
    assert (method.type, method.card.brand, method.card.last4) == ("card", "visa", "4242")
    assert (method.card.exp_month, method.card.exp_year) == (12, 2034)
    assert [pi.id for pi in stripe.PaymentIntent.list(customer=customer.id).data] == [intent.id]
    by_intent = stripe.checkout.Session.list(payment_intent=intent.id)
    assert [x.id for x in by_intent.data] == [s.id]


def test_a_decline_is_the_payment_intents_last_payment_error(kassa: Kassa):
    p = one_time_price(900)
    s = stripe.checkout.Session.create(
        line_items=[{"price": p.id, "quantity": 1}], success_url="https://shop.example/ok"
    )
    declined = kassa.pay_by_card(s.id, number="4000000000009995")
    assert declined.status_code == 200, "the page again, with the reason"
    open_ = stripe.checkout.Session.retrieve(s.id, expand=["payment_intent"])
    assert (open_.status, open_.payment_status) == ("open", "unpaid")
    error = open_.payment_intent.last_payment_error
    assert (error.type, error.code, error.decline_code) == ("card_error", "card_declined", "insufficient_funds")
    assert open_.payment_intent.status == "requires_payment_method"

    assert kassa.pay_by_card(s.id).status_code == 303
    done = stripe.checkout.Session.retrieve(s.id, expand=["payment_intent"])
    assert (done.payment_status, done.payment_intent.status) == ("paid", "succeeded")
    assert done.payment_intent.id == open_.payment_intent.id, "one payment intent per session"


def test_a_bank_transfer_is_paid_by_the_test_helper(kassa: Kassa, client: stripe.StripeClient):
    customer = stripe.Customer.create(email=f"{unique('transfer')}@example.test")
    p = one_time_price(4200)
    s = stripe.checkout.Session.create(
        customer=customer.id,
        line_items=[{"price": p.id, "quantity": 1}],
        payment_method_types=["customer_balance"],
        success_url="https://shop.example/ok",
    )
    r = kassa.post_page(f"/pay/{s.id}", {"payment_method": "customer_balance", "email": customer.email, "name": "T"})
    assert r.status_code in (200, 303)
    waiting = stripe.checkout.Session.retrieve(s.id)
    assert (waiting.status, waiting.payment_status) == ("complete", "unpaid")

    txn = client.v1.test_helpers.customers.fund_cash_balance(
        customer.id, params={"amount": 4200, "currency": "usd", "expand": ["customer"]}
    )
    assert (txn.object, txn.type, txn.net_amount) == ("customer_cash_balance_transaction", "funded", 4200)
    assert txn.customer.id == customer.id
    assert stripe.checkout.Session.retrieve(s.id).payment_status == "paid"
    assert stripe.Customer.retrieve(customer.id).cash_balance.available.to_dict() == {
        "usd": 0
    }, "all of it paid the session"


def test_what_the_customer_changes_on_the_page_is_what_the_sdk_reads(kassa: Kassa):
    p = one_time_price(2000)
    coupon = stripe.Coupon.create(percent_off=25, duration="once")
    code = stripe.PromotionCode.create(coupon=coupon.id, code=unique("PAGE").upper())
    s = stripe.checkout.Session.create(
        line_items=[{"price": p.id, "quantity": 1, "adjustable_quantity": {"enabled": True, "maximum": 5}}],
        allow_promotion_codes=True,
        success_url="https://shop.example/ok",
    )
    assert s.allow_promotion_codes is True
    line = stripe.checkout.Session.list_line_items(s.id).data[0]
    assert kassa.post_page(f"/pay/{s.id}/quantities", {f"quantity[{line.id}]": "3"}).status_code == 303
    assert kassa.post_page(f"/pay/{s.id}/promotion_code", {"code": code.code.lower()}).status_code == 303

    changed = stripe.checkout.Session.retrieve(s.id, expand=["line_items", "discounts.promotion_code"])
    assert changed.line_items.data[0].quantity == 3
    assert (changed.amount_subtotal, changed.total_details.amount_discount, changed.amount_total) == (6000, 1500, 4500)
    assert changed.discounts[0].promotion_code.id == code.id
    assert kassa.pay_by_card(s.id).status_code == 303
    assert stripe.checkout.Session.retrieve(s.id, expand=["payment_intent"]).payment_intent.amount == 4500
    assert stripe.PromotionCode.retrieve(code.id).times_redeemed == 1
