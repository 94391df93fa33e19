"""Issue 17 through Stripe's Python SDK: subscriptions created directly with
`stripe.Subscription.create` (each `payment_behavior`, a decline included), their items through
`stripe.SubscriptionItem`, invoice items through `stripe.InvoiceItem` collected by the next invoice,
and a paused subscription resumed. Every customer is on a test clock frozen at 2027-01-01 12:00 UTC,
with a card saved by a setup-mode checkout: 4242… pays, 4000 0000 0000 0341 declines every later
charge."""

from __future__ import annotations

import calendar

import pytest
import stripe

from helpers import Kassa, unique, wait_until

START = calendar.timegm((2027, 1, 1, 12, 0, 0))
DAY = 86400


def monthly(amount: int) -> stripe.Price:
    product = stripe.Product.create(name=unique("Plan"))
    return stripe.Price.create(product=product.id, unit_amount=amount, currency="usd", recurring={"interval": "month"})


def customer_with_card(kassa: Kassa, card: str | None = "4242424242424242") -> tuple[stripe.Customer, str | None]:
    clock = stripe.test_helpers.TestClock.create(frozen_time=START)
    customer = stripe.Customer.create(email="direct@example.test", test_clock=clock.id)
    if card is None:
        return customer, None
    s = stripe.checkout.Session.create(
        mode="setup", currency="usd", customer=customer.id, success_url="https://shop.example/saved"
    )
    assert kassa.pay_by_card(s.id, card).status_code == 303
    seti = stripe.checkout.Session.retrieve(s.id, expand=["setup_intent"]).setup_intent
    return customer, seti.payment_method


def advance(clock: str, to: int) -> None:
    stripe.test_helpers.TestClock.advance(clock, frozen_time=to)
    wait_until(lambda: stripe.test_helpers.TestClock.retrieve(clock).status == "ready", 60, "the clock")


def test_create_charges_now_and_a_decline_leaves_it_incomplete(kassa: Kassa):
    plan = monthly(1000)
    customer, pm = customer_with_card(kassa)
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": plan.id, "quantity": 2}],
        default_payment_method=pm,
        metadata={"source": "sdk"},
        expand=["latest_invoice.payment_intent"],
    )
    assert (sub.status, sub.current_period_end) == ("active", START + 31 * DAY)
    assert (sub.latest_invoice.status, sub.latest_invoice.amount_paid) == ("paid", 2000)
    assert sub.latest_invoice.payment_intent.status == "succeeded"

    declining, bad_pm = customer_with_card(kassa, "4000000000000341")
    incomplete = stripe.Subscription.create(
        customer=declining.id, items=[{"price": plan.id}], default_payment_method=bad_pm
    )
    assert incomplete.status == "incomplete"
    assert stripe.Invoice.retrieve(incomplete.latest_invoice).status == "open"
    advance(declining.test_clock, START + 23 * 3600)
    assert stripe.Subscription.retrieve(incomplete.id).status == "incomplete_expired"

    with pytest.raises(stripe.CardError) as e:
        stripe.Subscription.create(
            customer=declining.id,
            items=[{"price": plan.id}],
            default_payment_method=bad_pm,
            payment_behavior="error_if_incomplete",
        )
    assert (e.value.code, e.value.http_status) == ("card_declined", 402)
    assert len(stripe.Subscription.list(customer=declining.id, status="all").data) == 1


def test_default_incomplete_then_the_invoice_is_paid(kassa: Kassa):
    customer, pm = customer_with_card(kassa)
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": monthly(1500).id}],
        default_payment_method=pm,
        payment_behavior="default_incomplete",
        expand=["latest_invoice.payment_intent"],
    )
    assert sub.status == "incomplete"
    assert sub.latest_invoice.payment_intent.status == "requires_payment_method"
    paid = stripe.Invoice.pay(sub.latest_invoice.id)
    assert (paid.status, paid.amount_paid) == ("paid", 1500)
    assert stripe.Subscription.retrieve(sub.id).status == "active"


def test_subscription_items_and_invoice_items(kassa: Kassa):
    customer, pm = customer_with_card(kassa)
    base, seats = monthly(1000), monthly(500)
    sub = stripe.Subscription.create(
        customer=customer.id, items=[{"price": base.id}, {"price": seats.id, "quantity": 3}], default_payment_method=pm
    )
    items = stripe.SubscriptionItem.list(subscription=sub.id)
    assert [(i.price.id, i.quantity) for i in items.data] == [(base.id, 1), (seats.id, 3)]
    seat_item = items.data[1]
    changed = stripe.SubscriptionItem.modify(seat_item.id, quantity=5, proration_behavior="none")
    assert stripe.SubscriptionItem.retrieve(changed.id).quantity == 5

    item = stripe.InvoiceItem.create(customer=customer.id, amount=700, currency="usd", description="Onboarding")
    assert (item.object, item.invoice, item.amount) == ("invoiceitem", None, 700)
    extra = stripe.InvoiceItem.create(customer=customer.id, amount=100, currency="usd")
    assert stripe.InvoiceItem.delete(extra.id).deleted is True
    pending = stripe.InvoiceItem.list(customer=customer.id, pending=True)
    assert [i.id for i in pending.data] == [item.id]

    preview = stripe.Invoice.create_preview(subscription=sub.id)
    assert [line.amount for line in preview.lines.data] == [1000, 2500, 700]
    advance(customer.test_clock, START + 31 * DAY)
    renewal = stripe.Invoice.retrieve(stripe.Subscription.retrieve(sub.id).latest_invoice)
    assert (renewal.status, renewal.amount_paid) == ("paid", 4200)
    assert stripe.InvoiceItem.retrieve(item.id).invoice == renewal.id
    with pytest.raises(stripe.InvalidRequestError):
        stripe.InvoiceItem.delete(item.id)


def test_a_trial_without_a_card_pauses_and_resumes(kassa: Kassa):
    customer, _ = customer_with_card(kassa, None)
    sub = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": monthly(1000).id}],
        trial_period_days=7,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )
    assert sub.status == "trialing"
    advance(customer.test_clock, START + 8 * DAY)
    assert stripe.Subscription.retrieve(sub.id).status == "paused"
    resumed = stripe.Subscription.resume(sub.id, billing_cycle_anchor="now")
    assert resumed.status in ("active", "past_due")  # no card: the new period's invoice is open
    assert resumed.current_period_start == START + 8 * DAY
