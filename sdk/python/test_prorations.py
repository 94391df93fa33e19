"""Issue 17 through Stripe's Python SDK: a plan changed mid-period with `Subscription.modify`
(`items`, `proration_behavior`, `proration_date`), the next invoice previewed with
`Invoice.create_preview`, `cancel_at`, and a failed renewal's invoice voided. The subscription lives on a test clock frozen at
2027-01-01 12:00 UTC, so its period is January's 31 days and every cent is known."""

from __future__ import annotations

import calendar

import stripe

from helpers import Kassa, unique, wait_until

START = calendar.timegm((2027, 1, 1, 12, 0, 0))
DAY = 86400


def monthly(amount: int) -> stripe.Price:
    product = stripe.Product.create(name=unique("Plan"))
    return stripe.Price.create(product=product.id, unit_amount=amount, currency="usd", recurring={"interval": "month"})


def subscribe(kassa: Kassa, plan: stripe.Price, card: str = "4242424242424242") -> stripe.Subscription:
    clock = stripe.test_helpers.TestClock.create(frozen_time=START)
    customer = stripe.Customer.create(email="upgrade@example.test", test_clock=clock.id)
    s = stripe.checkout.Session.create(
        mode="subscription",
        customer=customer.id,
        line_items=[{"price": plan.id, "quantity": 1}],
        success_url="https://shop.example/welcome",
    )
    assert kassa.pay_by_card(s.id, card).status_code == 303
    sub = stripe.Subscription.retrieve(stripe.checkout.Session.retrieve(s.id).subscription)
    assert (sub.current_period_start, sub.current_period_end) == (START, START + 31 * DAY)
    return sub


def test_an_upgrade_is_prorated_and_previewed(kassa: Kassa):
    basic, pro = monthly(1000), monthly(2500)
    sub = subscribe(kassa, basic)
    item = sub["items"].data[0]
    changed = stripe.Subscription.modify(
        sub.id,
        items=[{"id": item.id, "price": pro.id}],
        proration_behavior="create_prorations",
        proration_date=START + 15 * DAY,  # 16 of 31 days remain
    )
    assert [(i.id, i.price.id) for i in changed["items"].data] == [(item.id, pro.id)]

    preview = stripe.Invoice.create_preview(subscription=sub.id)
    # Credit 1000 × 16/31 = 516.13 → -516; charge 2500 × 16/31 = 1290.32 → 1290.
    assert [(line.amount, line.proration) for line in preview.lines.data] == [
        (2500, False),
        (-516, True),
        (1290, True),
    ]
    assert preview.amount_due == 3274
    assert preview.period_start == START + 31 * DAY


def test_always_invoice_and_cancel_at(kassa: Kassa):
    sub = subscribe(kassa, monthly(1000))
    item = sub["items"].data[0]
    changed = stripe.Subscription.modify(
        sub.id,
        items=[{"id": item.id, "quantity": 3}],
        proration_behavior="always_invoice",
        proration_date=START + 15 * DAY,
        expand=["latest_invoice"],
    )
    invoice = changed.latest_invoice
    assert invoice.billing_reason == "subscription_update"
    # Credit 1000 × 16/31 → -516; charge 3000 × 16/31 = 1548.39 → 1548.
    assert [line.amount for line in invoice.lines.data] == [-516, 1548]
    assert invoice.amount_due == 1032

    try:
        stripe.Subscription.modify(sub.id, proration_behavior="later", items=[{"id": item.id, "quantity": 2}])
        raise AssertionError("an unknown proration_behavior was accepted")
    except stripe.InvalidRequestError as e:
        assert e.param == "proration_behavior"

    ends = START + 40 * DAY
    canceled = stripe.Subscription.modify(sub.id, cancel_at=ends)
    assert (canceled.cancel_at, canceled.cancel_at_period_end, canceled.status) == (ends, False, "active")


def test_a_failed_renewals_invoice_is_marked_uncollectible_then_voided(kassa: Kassa):
    sub = subscribe(kassa, monthly(1000), card="4000000000000341")  # declines every renewal
    stripe.test_helpers.TestClock.advance(sub.test_clock, frozen_time=START + 31 * DAY + 60)
    wait_until(lambda: stripe.test_helpers.TestClock.retrieve(sub.test_clock).status == "ready", 60, "the clock")
    renewal = stripe.Invoice.retrieve(stripe.Subscription.retrieve(sub.id).latest_invoice)
    assert (renewal.status, renewal.attempt_count) == ("open", 1)
    retried = stripe.Invoice.pay(renewal.id)  # the saved card declines again: counted, still open
    assert (retried.status, retried.attempt_count) == ("open", 2)

    given_up = stripe.Invoice.mark_uncollectible(renewal.id)
    assert given_up.status == "uncollectible"
    assert given_up.status_transitions.marked_uncollectible_at == START + 31 * DAY + 60
    voided = stripe.Invoice.void_invoice(renewal.id)
    assert voided.status == "void"
    try:
        stripe.Invoice.void_invoice(renewal.id)
        raise AssertionError("a void invoice was voided again")
    except stripe.InvalidRequestError as e:
        assert "void" in str(e)
