"""Events, webhook endpoints and deliveries through the Python SDK: endpoints made with
`client.v1.webhook_endpoints`, the event log read with `client.v1.events`, subscriptions changed
and test clocks advanced with the SDK's own calls — and kassa's deliveries verified with
`stripe.Webhook.construct_event`, which must refuse a tampered body or another secret."""

from __future__ import annotations

import http.server
import threading

import pytest
import stripe

from helpers import unique, wait_until


class _Receiver:
    """A webhook receiver on a free port that keeps every request's raw body and signature."""

    def __init__(self) -> None:
        got: list[tuple[bytes, str]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                got.append((body, self.headers.get("stripe-signature", "")))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.got = got
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout: float = 20.0):
        return wait_until(lambda: [g for g in self.got if predicate(g)], timeout, "a matching webhook arriving")

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = _Receiver()
    yield r
    r.close()


def test_deliveries_verify_with_construct_event(client: stripe.StripeClient, receiver: _Receiver):
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["customer.created"], "description": "python"}
    )
    assert endpoint.id.startswith("we_") and endpoint.secret.startswith("whsec_")
    assert endpoint.status == "enabled" and endpoint.enabled_events == ["customer.created"]
    assert getattr(client.v1.webhook_endpoints.retrieve(endpoint.id), "secret", None) is None

    email = f"{unique('hook')}@example.test"
    customer = client.v1.customers.create(params={"email": email})
    body, signature = receiver.wait_for(lambda g: email.encode() in g[0])[0]

    event = stripe.Webhook.construct_event(body.decode(), signature, endpoint.secret)
    assert event.type == "customer.created"
    assert event.data.object.id == customer.id
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode().replace("hook", "hack", 1), signature, endpoint.secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode(), signature, "whsec_someone_else")

    # The same event through the API, and the endpoint switched off and removed.
    got = client.v1.events.retrieve(event.id)
    assert got.type == "customer.created" and got.data.object.email == email
    listed = client.v1.events.list(params={"type": "customer.created", "limit": 100})
    assert event.id in [e.id for e in listed.data]
    off = client.v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    assert off.status == "disabled"
    deleted = client.v1.webhook_endpoints.delete(endpoint.id)
    assert deleted.deleted is True


def test_a_test_clock_year_through_the_sdk(client: stripe.StripeClient, kassa):
    start = 1_800_000_000
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": start, "name": unique("year")})
    assert clock.status == "ready" and clock.frozen_time == start
    customer = client.v1.customers.create(params={"email": "clock@example.test", "test_clock": clock.id})
    product = client.v1.products.create(params={"name": unique("Plan")})
    price = client.v1.prices.create(
        params={"product": product.id, "unit_amount": 1200, "currency": "usd", "recurring": {"interval": "month"}}
    )
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "https://shop.test/ok",
        }
    )
    assert kassa.pay_by_card(session.id).status_code == 303
    sub_id = client.v1.checkout.sessions.retrieve(session.id).subscription

    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": start + 365 * 86_400})
    wait_until(
        lambda: client.v1.test_helpers.test_clocks.retrieve(clock.id).status == "ready", 60, "the clock getting ready"
    )
    invoices = client.v1.invoices.list(params={"subscription": sub_id, "status": "paid", "limit": 100})
    assert len(invoices.data) == 13
    assert all(i.amount_paid == 1200 for i in invoices.data)

    canceled = client.v1.subscriptions.cancel(sub_id)
    assert canceled.status == "canceled" and canceled.ended_at == start + 365 * 86_400
    assert client.v1.test_helpers.test_clocks.delete(clock.id).deleted is True
