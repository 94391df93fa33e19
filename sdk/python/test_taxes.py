"""Taxes through the SDK (issue 16): tax rates, a price's tax_behavior, a session with automatic
tax paid on its hosted page after the buyer's address is known, its tax read back on the session
and its line items; a customer's tax_exempt and tax ids."""

from __future__ import annotations

import stripe

from helpers import Kassa, unique

ADDRESS = {
    "address_line1": "Hauptstraße 5",
    "address_city": "Wien",
    "address_postal_code": "1010",
    "address_state": "",
    "address_country": "AT",
}


def test_a_session_with_automatic_tax_is_paid_with_the_tax(kassa: Kassa):
    # A country of its own for this test, so that other tests' rates never match.
    rate = stripe.TaxRate.create(display_name="VAT", percentage=20, inclusive=False, country="AT", tax_type="vat")
    assert (rate.object, rate.percentage, rate.inclusive, rate.country) == ("tax_rate", 20.0, False, "AT")
    product = stripe.Product.create(name=unique("Apron"))
    price = stripe.Price.create(product=product.id, unit_amount=2400, currency="eur", tax_behavior="exclusive")
    assert price.tax_behavior == "exclusive"
    s = stripe.checkout.Session.create(
        line_items=[{"price": price.id, "quantity": 1}],
        automatic_tax={"enabled": True},
        success_url="https://shop.example/ok",
    )
    assert (s.automatic_tax.enabled, s.automatic_tax.status) == (True, "requires_location_inputs")
    assert (s.total_details.amount_tax, s.amount_total) == (0, 2400)

    # The page applies the address ("Update tax"), then the buyer pays.
    assert kassa.post_page(f"/pay/{s.id}/address", ADDRESS).status_code == 200
    shown = stripe.checkout.Session.retrieve(s.id)
    assert (shown.automatic_tax.status, shown.total_details.amount_tax, shown.amount_total) == ("complete", 480, 2880)
    paid = kassa.post_page(
        f"/pay/{s.id}",
        {
            **ADDRESS,
            "email": "ada@example.test",
            "name": "Ada",
            "payment_method": "card",
            "card_number": "4242424242424242",
            "card_expiry": "12/34",
            "card_cvc": "123",
        },
    )
    assert paid.status_code == 303, paid.text

    done = stripe.checkout.Session.retrieve(s.id, expand=["payment_intent"])
    assert (done.status, done.total_details.amount_tax, done.amount_total) == ("complete", 480, 2880)
    assert done.payment_intent.amount == 2880, "the charge is the taxed total"
    items = stripe.checkout.Session.list_line_items(s.id, expand=["data.taxes"])
    line = items.data[0]
    assert (line.amount_tax, line.amount_total) == (480, 2880)
    tax = line.taxes[0]
    assert (tax.amount, tax.taxable_amount, tax.taxability_reason) == (480, 2400, "standard_rated")
    assert (tax.rate.id, tax.rate.percentage) == (rate.id, 20.0)


def test_fixed_rates_and_a_customers_tax_exemption_and_tax_ids(kassa: Kassa):
    rate = stripe.TaxRate.create(display_name="Sales tax", percentage="8.875", inclusive=False)
    product = stripe.Product.create(name=unique("Bagel"))
    price = stripe.Price.create(product=product.id, unit_amount=999, currency="usd")
    taxed = stripe.checkout.Session.create(
        line_items=[{"price": price.id, "quantity": 1, "tax_rates": [rate.id]}], success_url="https://shop.example/ok"
    )
    assert (taxed.total_details.amount_tax, taxed.amount_total) == (89, 1088)

    customer = stripe.Customer.create(email="exempt@example.test", tax_exempt="exempt")
    assert customer.tax_exempt == "exempt"
    free = stripe.checkout.Session.create(
        customer=customer.id,
        line_items=[{"price": price.id, "quantity": 1, "tax_rates": [rate.id]}],
        success_url="https://shop.example/ok",
    )
    assert (free.total_details.amount_tax, free.amount_total) == (0, 999)
    reason = stripe.checkout.Session.list_line_items(free.id, expand=["data.taxes"]).data[0].taxes[0].taxability_reason
    assert reason == "customer_exempt"

    tax_id = stripe.Customer.create_tax_id(customer.id, type="eu_vat", value="ATU12345678")
    assert (tax_id.object, tax_id.country, tax_id.customer) == ("tax_id", "AT", customer.id)
    assert tax_id.id.startswith("txi_")
    assert [t.id for t in stripe.Customer.list_tax_ids(customer.id).data] == [tax_id.id]
    assert stripe.Customer.retrieve_tax_id(customer.id, tax_id.id).value == "ATU12345678"
    deleted = stripe.Customer.delete_tax_id(customer.id, tax_id.id)
    assert deleted.deleted is True
    assert stripe.Customer.list_tax_ids(customer.id).data == []
    try:
        stripe.checkout.Session.create(
            line_items=[{"price": price.id, "quantity": 1, "tax_rates": ["txr_missing"]}],
            success_url="https://shop.example/ok",
        )
        raise AssertionError("an unknown rate is refused")
    except stripe.InvalidRequestError as e:
        assert (e.param, e.code) == ("line_items[0][tax_rates][0]", "resource_missing")
