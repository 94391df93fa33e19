"""The wire between the SDK and kassa: Request-Id and Stripe-Version on the answers, the SDK's
automatic Idempotency-Key honoured (a retry after a lost response is answered from the first
run), explicit keys replayed, and what the SDK puts in query strings."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field

import pytest
import requests
import stripe

from helpers import MAX_NETWORK_RETRIES, Kassa, stripe_client, unique


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    body: str


@dataclass
class Proxy:
    """An HTTP proxy in front of kassa that records every request and, for the first `drop`
    POSTs, lets kassa answer but closes the connection without passing the answer on: a response
    lost on the network after the request was carried out. The first POSTs after those are
    answered by the proxy itself, one status of `refuse` each (a 409 or a 5xx, as kassa answers a
    conflict or a failure), without reaching kassa."""

    upstream: str
    drop: int = 0
    refuse: list[int] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __enter__(self) -> "Proxy":
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen.append(Seen(self.command, self.path, self.headers.get("Idempotency-Key"), body.decode()))
                if self.command == "POST" and proxy.drop == 0 and proxy.refuse:
                    status = proxy.refuse.pop(0)
                    error = json.dumps({"error": {"type": "api_error", "message": f"the proxy answered {status}"}})
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Request-Id", "req_proxy")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error.encode())
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                r = requests.request(self.command, proxy.upstream + self.path, headers=headers, data=body, timeout=30)
                if self.command == "POST" and proxy.drop > 0:
                    proxy.drop -= 1
                    self.close_connection = True
                    return
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_retry_after_a_lost_response_is_answered_from_the_first_run(kassa: Kassa):
    name = unique("Lost answer")
    with Proxy(kassa.base_url, drop=1) as proxy:
        # The one client here asked to retry: retrying is what this test is about.
        client = stripe_client(proxy.url, kassa.key, max_network_retries=2)
        product = client.v1.products.create(params={"name": name})
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert len(posts) == 2, "the SDK retried once"
    assert posts[0].idempotency_key and posts[0].idempotency_key == posts[1].idempotency_key
    assert posts[0].body == posts[1].body == f"name={name.replace(' ', '+')}"
    assert product.last_response.headers["Idempotent-Replayed"] == "true"
    assert product.last_response.idempotency_key == posts[0].idempotency_key
    same_name = [p.id for p in stripe.Product.list(limit=100).auto_paging_iter() if p.name == name]
    assert same_name == [product.id], "one product, though kassa was asked twice"


def posts(proxy: Proxy) -> int:
    return len([s for s in proxy.seen if s.method == "POST"])


def test_the_suite_never_retries_on_its_own(kassa: Kassa, client: stripe.StripeClient, monkeypatch):
    """max_network_retries is 0 both ways the suite calls the SDK, so that a 409 or a 5xx from
    kassa, or a lost connection, reaches the test that caused it instead of being retried away."""
    assert MAX_NETWORK_RETRIES == 0
    assert stripe.max_network_retries == 0, "the module-level API (conftest.py)"
    assert client._requestor._options.max_network_retries == 0, "the suite's StripeClient"
    for status in (409, 503):
        with Proxy(kassa.base_url, refuse=[status, status]) as proxy:
            with pytest.raises(stripe.APIError) as e:
                stripe_client(proxy.url, kassa.key).v1.products.create(params={"name": unique("Not retried")})
            assert e.value.http_status == status
            with monkeypatch.context() as m:
                m.setattr(stripe, "api_base", proxy.url)
                with pytest.raises(stripe.APIError) as e:
                    stripe.Product.create(name=unique("Not retried"))
            assert e.value.http_status == status
        assert posts(proxy) == 2, f"one attempt each: the {status} is not retried"
    with Proxy(kassa.base_url, drop=1) as proxy:
        with pytest.raises(stripe.APIConnectionError):
            stripe_client(proxy.url, kassa.key).v1.products.create(params={"name": unique("Not retried")})
    assert posts(proxy) == 1, "nor is a lost connection"
    # What the setting prevents: a client allowed to retry goes past both, and the test sees nothing.
    with Proxy(kassa.base_url, refuse=[409, 503]) as proxy:
        retrying = stripe_client(proxy.url, kassa.key, max_network_retries=2)
        retrying.v1.products.create(params={"name": unique("Retried")})
    assert posts(proxy) == 3


def test_every_post_gets_its_own_automatic_key():
    a = stripe.Customer.create(email=f"{unique('a')}@example.test")
    b = stripe.Customer.create(email=f"{unique('b')}@example.test")
    ka, kb = a.last_response.idempotency_key, b.last_response.idempotency_key
    assert ka and kb and ka != kb, "kassa names the key the SDK sent"
    assert "Idempotent-Replayed" not in a.last_response.headers
    assert a.id != b.id


def test_an_explicit_key_replays_and_refuses_other_parameters():
    key = unique("order-42")
    email = f"{unique('idem')}@example.test"
    first = stripe.Customer.create(email=email, idempotency_key=key)
    again = stripe.Customer.create(email=email, idempotency_key=key)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError) as e:
        stripe.Customer.create(email=f"other-{email}", idempotency_key=key)
    assert e.value.http_status == 400
    assert [c.id for c in stripe.Customer.list(email=email).data] == [first.id]


def test_request_id_and_stripe_version_come_back():
    p = stripe.Product.create(name=unique("Headers"))
    assert p.last_response.request_id.startswith("req_")
    assert p.last_response.headers["Stripe-Version"] == stripe.api_version, "the SDK's pinned version, echoed"
    older = stripe.Product.retrieve(p.id, stripe_version="2023-08-16")
    assert older.last_response.headers["Stripe-Version"] == "2023-08-16"
    assert older.last_response.request_id != p.last_response.request_id


def test_get_parameters_travel_in_the_query_string(kassa: Kassa):
    with Proxy(kassa.base_url) as proxy:
        client = stripe_client(proxy.url, kassa.key)
        listed = client.v1.customers.list(params={"limit": 2, "created": {"gte": 1}, "expand": ["data.test_clock"]})
        client.v1.coupons.delete(client.v1.coupons.create(params={"percent_off": 1, "duration": "once"}).id)
    assert listed.url == "/v1/customers"
    get = next(s for s in proxy.seen if s.method == "GET")
    assert get.path == "/v1/customers?limit=2&created%5Bgte%5D=1&expand%5B0%5D=data.test_clock"
    assert get.body == ""
    delete = next(s for s in proxy.seen if s.method == "DELETE")
    assert delete.path.startswith("/v1/coupons/") and delete.body == ""
