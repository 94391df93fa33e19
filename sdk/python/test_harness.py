"""The harness itself, which the other tests trust to fail: a kassa that ends while the tests run
(killed by a signal, or exiting with any code) must be reported, not passed over."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import Kassa, describe_exit


def stand_in(code: str) -> Kassa:
    """A Kassa whose process is a stand-in running `code` (the suite's own server is not killed)."""
    proc = subprocess.Popen([sys.executable, "-c", code])
    return Kassa("http://127.0.0.1:9", "sk_test_unused", "stand-in.log", "-", "-", proc)


def test_describe_exit():
    assert [describe_exit(c) for c in (None, 0, 3, -9, -11)] == [
        "still running",
        "exit code 0",
        "exit code 3",
        "signal SIGKILL",
        "signal SIGSEGV",
    ]


def test_a_server_killed_with_sigkill_is_noticed():
    server = stand_in("import time; time.sleep(60)")
    server.check_running()
    server.process.kill()
    server.process.wait()
    with pytest.raises(AssertionError, match=r"kassa ended while the tests ran \(signal SIGKILL\)"):
        server.check_running()


@pytest.mark.parametrize("code", [0, 1])
def test_a_server_that_exits_by_itself_is_noticed_whatever_the_code(code):
    server = stand_in(f"raise SystemExit({code})")
    server.process.wait()
    with pytest.raises(AssertionError, match=rf"kassa ended while the tests ran \(exit code {code}\)"):
        server.check_running()


def test_the_suites_server_is_watched(kassa: Kassa):
    assert kassa.process is not None and kassa.process.poll() is None
    kassa.check_running()
