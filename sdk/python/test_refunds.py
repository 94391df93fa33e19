"""Charges and refunds through Stripe's own Python SDK (issue 17): a checkout paid on the hosted
page has a charge (`stripe.Charge.list`, `latest_charge` expanded); `stripe.Refund.create` gives
back part of it, then the rest; more than is left is Stripe's InvalidRequestError on `amount`
(and `charge_already_refunded` once nothing is left), changing nothing; `Refund.modify` updates
metadata. The `StripeClient` interface reads the same."""

from __future__ import annotations

import pytest
import stripe

from helpers import Kassa, unique


def paid_intent(kassa: Kassa, amount: int) -> stripe.PaymentIntent:
    product = stripe.Product.create(name=unique("Refundable"))
    price = stripe.Price.create(product=product.id, unit_amount=amount, currency="usd")
    s = stripe.checkout.Session.create(
        line_items=[{"price": price.id, "quantity": 1}],
        success_url="https://shop.example/ok",
    )
    assert kassa.pay_by_card(s.id).status_code == 303
    done = stripe.checkout.Session.retrieve(s.id, expand=["payment_intent.latest_charge"])
    return done.payment_intent


def test_a_payment_has_a_charge_and_refunds_in_parts(kassa: Kassa):
    intent = paid_intent(kassa, 2000)
    charge = intent.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.id.startswith("ch_")
    assert (charge.status, charge.paid, charge.captured, charge.amount, charge.amount_refunded) == (
        "succeeded",
        True,
        True,
        2000,
        0,
    )
    assert charge.payment_method_details.card.last4 == "4242"
    listed = stripe.Charge.list(payment_intent=intent.id)
    assert [c.id for c in listed.data] == [charge.id]
    assert stripe.Charge.retrieve(charge.id).payment_intent == intent.id

    first = stripe.Refund.create(payment_intent=intent.id, amount=500, reason="requested_by_customer")
    assert isinstance(first, stripe.Refund)
    assert (first.status, first.amount, first.charge, first.reason) == ("succeeded", 500, charge.id, "requested_by_customer")
    second = stripe.Refund.create(charge=charge.id, amount=700, metadata={"ticket": "T-7"})
    assert second.metadata["ticket"] == "T-7"
    after = stripe.Charge.retrieve(charge.id)
    assert (after.amount_refunded, after.refunded) == (1200, False)
    assert {r.id for r in after.refunds.data} == {first.id, second.id}

    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.Refund.create(charge=charge.id, amount=801)
    assert e.value.http_status == 400
    assert e.value.param == "amount"
    assert "greater than unrefunded amount on charge ($8.00)" in e.value.user_message
    assert stripe.Charge.retrieve(charge.id).amount_refunded == 1200

    rest = stripe.Refund.create(charge=charge.id)
    assert rest.amount == 800
    assert stripe.Charge.retrieve(charge.id).refunded is True
    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.Refund.create(charge=charge.id, amount=1)
    assert e.value.code == "charge_already_refunded"

    updated = stripe.Refund.modify(first.id, metadata={"note": "late"})
    assert updated.metadata["note"] == "late"
    assert stripe.Refund.retrieve(first.id).metadata["note"] == "late"
    refunds = stripe.Refund.list(charge=charge.id)
    assert [r.id for r in refunds.data] == [rest.id, second.id, first.id]
    assert {r.id for r in stripe.Refund.list(payment_intent=intent.id).auto_paging_iter()} == {
        first.id,
        second.id,
        rest.id,
    }


def test_the_client_interface_reads_charges_and_refunds(kassa: Kassa, client: stripe.StripeClient):
    intent = paid_intent(kassa, 1000)
    charge_id = intent.latest_charge.id
    refund = client.v1.refunds.create(params={"charge": charge_id, "amount": 250})
    assert refund.amount == 250
    charge = client.v1.charges.retrieve(charge_id)
    assert charge.amount_refunded == 250
    assert [c.id for c in client.v1.charges.list(params={"payment_intent": intent.id}).data] == [charge_id]
