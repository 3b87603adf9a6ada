"""The PHP client's PHPUnit suites, run by scripts/test-php against this module's
gateway (so the README test command covers PHP too).

scripts/test-php installs missing Debian packages, builds ext-grpc/ext-protobuf from
Debian source packages (cached in .cache/php-exts), lints every PHP file and runs
PHPUnit twice (ext-protobuf, then the pure-PHP runtime). A missing PHP toolchain fails
the run loudly; it is not skipped.

Next to the plaintext gateway runs one with TLS and mutual TLS (``live_tls_gateway``);
its target and the PEM files go to clients/php/tests/Integration/TlsTest.php through
MT5GW_TEST_TLS_* variables. That test skips itself without them (scripts/test-php on its
own), so here PHPUnit runs with --fail-on-skipped and its JUnit log must show every TLS
test run and passed.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .conftest import RunningGateway, TlsFiles

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "test-php"
TLS_SUITE = "Mt5Gateway\\Tests\\Integration\\TlsTest"
TLS_TESTS = 7  # test methods in TlsTest.php


def _tls_env(gateway: RunningGateway, files: TlsFiles) -> dict[str, str]:
    return {
        "MT5GW_TEST_TLS_TARGET": gateway.target,
        "MT5GW_TEST_TLS_CA": files.server_ca,
        "MT5GW_TEST_TLS_CLIENT_CERT": files.client_cert,
        "MT5GW_TEST_TLS_CLIENT_KEY": files.client_key,
        "MT5GW_TEST_TLS_ROGUE_CA": files.rogue_ca,
        "MT5GW_TEST_TLS_ROGUE_CERT": files.rogue_cert,
        "MT5GW_TEST_TLS_ROGUE_KEY": files.rogue_key,
    }


@pytest.mark.timeout(900)  # a cold run installs packages and compiles two extensions
def test_phpunit_against_the_gateway(
    live_gateway: RunningGateway,
    live_tls_gateway: RunningGateway,
    tls_files: TlsFiles,
    tmp_path: Path,
) -> None:
    junit = tmp_path / "phpunit.xml"
    env = {
        **os.environ,
        "MT5GW_TEST_TARGET": live_gateway.target,
        # Plain HTTP here, so the PHP test also checks /_sim/stats.
        "MT5GW_TEST_SIM_URL": live_gateway.sim_url,
        **_tls_env(live_tls_gateway, tls_files),
    }
    proc = subprocess.run(  # noqa: S603 - our own script
        # Arguments go to the first PHPUnit run (the one with the integration suite).
        [str(SCRIPT), "--fail-on-skipped", "--log-junit", str(junit)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=880,
    )
    output = proc.stdout + proc.stderr
    # PHPUnit reports on stdout; stderr has grpc-core's handshake log lines.
    tail = proc.stdout[-6000:] + "\n--- stderr ---\n" + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    # Both PHPUnit runs finished green, none with skipped tests ("OK, but ...").
    assert output.count("\nOK (") == 2, tail
    assert "ERRORS!" not in output
    assert "FAILURES!" not in output
    assert "Skipped" not in output, tail
    # Every TLS test ran and passed.
    suites = {s.get("name"): s for s in ET.parse(junit).iter("testsuite")}  # noqa: S314
    assert TLS_SUITE in suites, sorted(n for n in suites if n)
    tls = suites[TLS_SUITE]
    counts = {
        k: int(tls.get(k, "0")) for k in ("tests", "skipped", "failures", "errors")
    }
    assert counts == {"tests": TLS_TESTS, "skipped": 0, "failures": 0, "errors": 0}
