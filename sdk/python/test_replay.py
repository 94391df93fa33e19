"""The integration replay through Stripe's Python SDK (issue 15): for each app in
e2e/replay/integrations.json, its exact session-create call made with `stripe` from PyPI, the session
paid on the hosted page in Chromium (`node e2e/replay.mjs pay`, the same filling as the Node suite's
e2e/replay.test.mjs), the browser landing on the app's success_url, and the objects read back
through the SDK as the app reads them."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import stripe

from helpers import unique

REPO = Path(__file__).resolve().parents[2]
CALLS = json.loads((REPO / "e2e" / "replay" / "integrations.json").read_text())["integrations"]
PRICES = {
    "monthly": {"unit_amount": 2000, "recurring": {"interval": "month"}},
    "yearly": {"unit_amount": 20000, "recurring": {"interval": "year"}},
    "one_time": {"unit_amount": 1500},
}
UNITS = {"m": 60, "h": 3600, "d": 86_400}


@pytest.fixture(scope="module")
def merchant():
    """The app's site: answers 200 to every GET, so that landing on success_url is a page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            body = b"<!doctype html><title>app</title><h1>app</h1>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def resolve(value: Any, ctx: dict) -> Any:
    """`value` with the placeholders of integrations.json filled (as e2e/replay.mjs does)."""
    if isinstance(value, list):
        return [resolve(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, ctx) for k, v in value.items()}
    if not isinstance(value, str) or not value.startswith("$"):
        return value
    if value.startswith("$price:"):
        return ctx["prices"][value.removeprefix("$price:")]
    if value.startswith("$merchant"):
        return ctx["merchant"] + value.removeprefix("$merchant")
    if m := re.fullmatch(r"\$now\+(\d+)([mhd])", value):
        return ctx["now"] + int(m[1]) * UNITS[m[2]]
    named = {"$customer": ctx.get("customer"), "$email": ctx["email"]}
    assert value in named, f"unknown placeholder {value}"
    return named[value]


def at(obj: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if obj is None:
            return None
        obj = obj[int(key)] if isinstance(obj, list) else obj.get(key)
    return obj


def pay_in_browser(url: str, success: str, email: str) -> str:
    run = subprocess.run(
        ["node", str(REPO / "e2e" / "replay.mjs"), "pay", url, success, email],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"paying in Chromium failed: {run.stderr.strip()}"
    return json.loads(run.stdout.strip().splitlines()[-1])["landed"]


RETRIEVE = {
    "customer": ("customer", stripe.Customer.retrieve),
    "subscription": ("subscription", stripe.Subscription.retrieve),
    "payment_intent": ("payment_intent", stripe.PaymentIntent.retrieve),
    "setup_intent": ("setup_intent", stripe.SetupIntent.retrieve),
    "invoice": ("invoice", stripe.Invoice.retrieve),
}


@pytest.mark.parametrize("app", CALLS, ids=[c["name"] for c in CALLS])
def test_replay(app: dict, merchant: str):
    ctx: dict = {"now": int(time.time()), "merchant": merchant, "email": f"{unique('buyer')}@example.com", "prices": {}}
    text = json.dumps(app["params"])
    if '"$customer"' in text:
        ctx["customer"] = stripe.Customer.create(email=ctx["email"]).id
    for kind, shape in PRICES.items():
        if f'"$price:{kind}"' in text:
            product = stripe.Product.create(name=unique(f"{app['name']} {kind}"))
            ctx["prices"][kind] = stripe.Price.create(product=product.id, currency="usd", **shape).id

    params = resolve(app["params"], ctx)
    created = stripe.checkout.Session.create(**params)
    success = params["success_url"].replace("{CHECKOUT_SESSION_ID}", created.id)
    landed = pay_in_browser(created.url, success, ctx["email"])
    assert landed == success

    session = stripe.checkout.Session.retrieve(created.id)
    objects: dict[str, Any] = {"session": session.to_dict()}
    refs = objects["session"]
    for root in {path.split(".")[0] for path, _ in app["expect"]} - {"session"}:
        field, retrieve = RETRIEVE[root]
        ref = refs.get(field)
        objects[root] = retrieve(ref).to_dict() if ref else None

    for path, want in app["expect"]:
        root, _, rest = path.partition(".")
        got = at(objects[root], rest)
        if want == "$present":
            assert got is not None, f"{app['name']}: {path} is null"
        else:
            assert got == resolve(want, ctx), f"{app['name']}: {path}"
