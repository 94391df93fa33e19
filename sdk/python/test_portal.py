"""The customer portal (issue 17) through the official Python SDK: `stripe.billing_portal.Configuration`
(create, retrieve, modify, list, the account's default) and `stripe.billing_portal.Session.create`,
whose `url` opens the portal; a cancellation made there reads back through the SDK."""

from __future__ import annotations

import re

import pytest
import requests
import stripe

from helpers import unique


def _subscribed(kassa) -> stripe.Subscription:
    product = stripe.Product.create(name=unique("Portal plan"))
    price = stripe.Price.create(product=product.id, unit_amount=1200, currency="usd", recurring={"interval": "month"})
    s = stripe.checkout.Session.create(
        mode="subscription", line_items=[{"price": price.id, "quantity": 1}], success_url="https://shop.test/ok"
    )
    assert kassa.pay_by_card(s.id).status_code == 303
    return stripe.Subscription.retrieve(stripe.checkout.Session.retrieve(s.id).subscription)


def test_configurations_create_retrieve_modify_list():
    defaults = stripe.billing_portal.Configuration.list(is_default=True)
    assert len(defaults.data) == 1 and defaults.data[0].is_default is True
    assert defaults.data[0].login_page.to_dict() == {"enabled": False, "url": None}

    product = stripe.Product.create(name=unique("Tier"))
    price = stripe.Price.create(product=product.id, unit_amount=900, currency="usd", recurring={"interval": "month"})
    c = stripe.billing_portal.Configuration.create(
        business_profile={"headline": "Acme"},
        default_return_url="https://shop.test/account",
        features={
            "invoice_history": {"enabled": True},
            "subscription_cancel": {"enabled": True, "mode": "immediately"},
            "subscription_update": {
                "enabled": True,
                "default_allowed_updates": ["price"],
                "products": [{"product": product.id, "prices": [price.id]}],
                "proration_behavior": "none",
            },
        },
        metadata={"team": "billing"},
    )
    assert isinstance(c, stripe.billing_portal.Configuration)
    assert c.id.startswith("bpc_") and c.object == "billing_portal.configuration"
    assert c.features.subscription_cancel.mode == "immediately"
    assert c.features.subscription_update.products[0].prices == [price.id]
    assert stripe.billing_portal.Configuration.retrieve(c.id).to_dict() == c.to_dict()
    m = stripe.billing_portal.Configuration.modify(c.id, active=False, business_profile={"headline": "Acme II"})
    assert (m.active, m.business_profile.headline) == (False, "Acme II")
    assert c.id in [x.id for x in stripe.billing_portal.Configuration.list(active=False).auto_paging_iter()]

    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.billing_portal.Configuration.create(features={"subscription_cancel": {"mode": "tomorrow"}})
    assert e.value.param == "features[subscription_cancel][mode]"
    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.billing_portal.Session.create(customer="cus_nope")
    assert e.value.param == "customer" and e.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.billing_portal.Session.create(customer=stripe.Customer.create().id, configuration=c.id)
    assert e.value.param == "configuration", "an inactive configuration makes no session"


def test_a_session_opens_the_portal_and_its_cancellation_reads_back(kassa, client: stripe.StripeClient):
    sub = _subscribed(kassa)
    s = stripe.billing_portal.Session.create(customer=sub.customer, return_url="https://shop.test/account")
    assert isinstance(s, stripe.billing_portal.Session)
    assert s.id.startswith("bps_") and s.object == "billing_portal.session"
    assert (s.customer, s.return_url, s.livemode, s.flow) == (sub.customer, "https://shop.test/account", False, None)
    assert s.url.startswith(f"{kassa.base_url}/portal/{s.id}/")
    # The same through StripeClient.
    again = client.v1.billing_portal.sessions.create(params={"customer": sub.customer})
    assert again.id != s.id and again.url != s.url

    browser = requests.Session()
    opened = browser.get(s.url, allow_redirects=False, timeout=30)
    assert opened.status_code == 303 and opened.headers["location"] == f"/portal/{s.id}"
    page = browser.get(f"{kassa.base_url}/portal/{s.id}", timeout=30)
    assert f'data-subscription="{sub.id}"' in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = browser.post(
        f"{kassa.base_url}/portal/{s.id}/cancel",
        data={"csrf": csrf, "subscription": sub.id},
        headers={"Origin": kassa.base_url},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303, r.text
    assert stripe.Subscription.retrieve(sub.id).cancel_at_period_end is True
    # Without the portal's cookie the page does not open.
    assert requests.get(f"{kassa.base_url}/portal/{s.id}", timeout=30).status_code == 404
    events = [e.type for e in stripe.Event.list(type="billing_portal.session.created", limit=10).data]
    assert events and set(events) == {"billing_portal.session.created"}
