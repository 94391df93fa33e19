"""The Python SDK suite's harness: one kassa server for the run, and Stripe's own `stripe`
package pointed at it.

It builds nothing: it runs the binary named by $KASSA_BIN (scripts/test passes
$CARGO_TARGET_DIR/debug/kassa) as

    kassa serve --listen 127.0.0.1:<free port> --database-url sqlite://<tmpdir>/kassa.db

with KASSA_SECRET_KEY=sk_test_<random>, waits for GET /health, and stops it with SIGTERM after
the last test (it must exit 0). Its log goes to artifacts/kassa.log. It must run from the first
test to the last: the test during which it ends (killed by a signal, or exiting at all) fails.

The SDK is configured both ways merchants use it: the module-level `stripe.api_key` /
`stripe.api_base` (the `stripe.checkout.Session.create(...)` style) and a `StripeClient` with
`base_addresses={"api": …}` (the `client.v1.…` style). Nothing else about the SDK is changed, but
that neither retries a request on its own (`max_network_retries` 0, helpers.MAX_NETWORK_RETRIES):
a 409 or a 5xx from kassa must reach the test.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests
import stripe

from helpers import MAX_NETWORK_RETRIES, Kassa, describe_exit, stripe_client, wait_until

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kassa_bin() -> str:
    path = os.environ.get("KASSA_BIN")
    if not path:
        raise pytest.UsageError("KASSA_BIN is not set: point it at a built kassa (cargo build -p kassa)")
    if not Path(path).exists():
        raise pytest.UsageError(f"KASSA_BIN={path} does not exist; build it with cargo build -p kassa")
    return path


@pytest.fixture(scope="session")
def kassa():
    binary = _kassa_bin()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "kassa.log"
    key = f"sk_test_{secrets.token_hex(24)}"
    with tempfile.TemporaryDirectory(prefix="kassa-sdk-") as tmp, open(log_path, "wb") as log:
        db = Path(tmp) / "kassa.db"
        env = {**os.environ, "KASSA_SECRET_KEY": key, "RUST_LOG": os.environ.get("RUST_LOG", "info"), "NO_COLOR": "1"}
        for attempt in range(3):
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen(
                [binary, "serve", "--listen", f"127.0.0.1:{port}", "--database-url", f"sqlite://{db}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            if _healthy(base, proc):
                break
            proc.kill()
            proc.wait()
        else:
            raise RuntimeError(f"kassa did not become healthy after 3 attempts; log: {log_path}")
        server = Kassa(base, key, log_path, binary, f"sqlite://{db}", proc)
        try:
            yield server
        finally:
            server.check_running()  # an end before the SIGTERM is a failure, whatever its code
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(f"kassa did not stop within 10 s of SIGTERM; log: {log_path}")
            assert code == 0, f"kassa ended with {describe_exit(code)} on SIGTERM (SPEC §1: exit 0); log: {log_path}"


@pytest.fixture(autouse=True)
def kassa_keeps_running(kassa: Kassa):
    """The test during which kassa ends fails (at teardown), not only the tests after it."""
    yield
    kassa.check_running()


def _healthy(base: str, proc: subprocess.Popen) -> bool:
    """Whether kassa answers GET /health with 200 within 20 s (False at once if it ends)."""

    def answered():
        if proc.poll() is not None:
            return "ended"
        try:
            return "healthy" if requests.get(f"{base}/health", timeout=1).status_code == 200 else None
        except requests.ConnectionError:
            return None

    try:
        return wait_until(answered, 20, "GET /health answering 200") == "healthy"
    except AssertionError:
        return False


@pytest.fixture(scope="session", autouse=True)
def stripe_module(kassa):
    """The module-level configuration: `stripe.api_base` pointed at kassa."""
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries)
    stripe.api_key = kassa.key
    stripe.api_base = kassa.base_url
    stripe.max_network_retries = MAX_NETWORK_RETRIES
    yield stripe
    stripe.api_key, stripe.api_base, stripe.max_network_retries = saved


@pytest.fixture(scope="session")
def client(kassa) -> stripe.StripeClient:
    """The newer interface: `StripeClient` with kassa as its API base address."""
    return stripe_client(kassa.base_url, kassa.key)
