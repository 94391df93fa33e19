"""What the SDK tests share besides fixtures: the running kassa and a few helpers."""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import stripe

# How often the SDK may retry a request on its own: never, in this suite, so that a 409 or a 5xx
# from kassa, or a lost connection, is seen by the test that caused it instead of being retried
# away. conftest.py sets it for the module-level API; `stripe_client` for every StripeClient. A
# test about retries asks for them itself (`max_network_retries=2`).
MAX_NETWORK_RETRIES = 0


def stripe_client(base_url: str, key: str, **options) -> stripe.StripeClient:
    """A `StripeClient` aimed at `base_url` (kassa, or a proxy in front of it): every client the
    suite makes comes from here. `options` go to `StripeClient`."""
    options.setdefault("max_network_retries", MAX_NETWORK_RETRIES)
    return stripe.StripeClient(key, base_addresses={"api": base_url}, **options)


def describe_exit(code: int | None) -> str:
    """A Popen return code in words: "exit code 1", "signal SIGKILL" (a negative code)."""
    if code is None:
        return "still running"
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


@dataclass
class Kassa:
    base_url: str
    key: str
    log_path: Path
    binary: str
    database_url: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    def check_running(self) -> None:
        """Fail unless the server still runs: it must from the first test to the last, and ending
        in between (killed by a signal, or exiting with any code) is a failure."""
        code = self.process.poll() if self.process else None
        assert code is None, f"kassa ended while the tests ran ({describe_exit(code)}); log: {self.log_path}"

    def create_account(self, name: str) -> str:
        """A second account in the same database (`kassa accounts create`); returns its key."""
        out = subprocess.run(
            [self.binary, "accounts", "create", "--name", name, "--database-url", self.database_url],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return out.stdout.strip()

    def page(self, session_id: str) -> str:
        return f"{self.base_url}/pay/{session_id}"

    def post_page(self, path: str, form: dict[str, str]) -> requests.Response:
        """A form post to the hosted page, as the customer's browser sends it (same origin)."""
        return requests.post(
            f"{self.base_url}{path}",
            data=form,
            headers={"Origin": self.base_url},
            allow_redirects=False,
            timeout=30,
        )

    def pay_by_card(self, session_id: str, number: str = "4242424242424242", **buyer: str) -> requests.Response:
        """Pay session `session_id` on its hosted page by card: POST /pay/{id}, what the page's form sends."""
        return self.post_page(
            f"/pay/{session_id}",
            {
                "email": buyer.get("email", "ada@example.test"),
                "name": buyer.get("name", "Ada Lovelace"),
                "payment_method": "card",
                "card_number": number,
                "card_expiry": "12/34",
                "card_cvc": "123",
            },
        )


def unique(prefix: str) -> str:
    """A name no other test uses, so tests can share the one server."""
    return f"{prefix}-{secrets.token_hex(4)}"


def wait_until(condition, timeout: float = 20.0, what: str = "the condition"):
    """Call `condition` every 50 ms until it returns something truthy, and return that; fail after
    `timeout` seconds. For waiting on an event (a webhook arriving, a status changing), never for
    a length of time."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)
