"""What the SDK tests share besides fixtures: the running kassa and a few helpers."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests


@dataclass
class Kassa:
    base_url: str
    key: str
    log_path: Path
    binary: str
    database_url: str

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
