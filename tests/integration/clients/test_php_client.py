"""The PHP client's PHPUnit suites, run by scripts/test-php against this module's
gateway (so the README test command covers PHP too).

scripts/test-php installs missing Debian packages, builds ext-grpc/ext-protobuf from
Debian source packages (cached in .cache/php-exts), lints every PHP file and runs
PHPUnit twice (ext-protobuf, then the pure-PHP runtime). A missing PHP toolchain fails
the run loudly; it is not skipped.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .conftest import RunningGateway

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "test-php"


@pytest.mark.timeout(900)  # a cold run installs packages and compiles two extensions
def test_phpunit_against_the_gateway(live_gateway: RunningGateway) -> None:
    env = {
        **os.environ,
        "MT5GW_TEST_TARGET": live_gateway.target,
        # Plain HTTP here, so the PHP test also checks /_sim/stats.
        "MT5GW_TEST_SIM_URL": live_gateway.sim_url,
    }
    proc = subprocess.run(  # noqa: S603 - our own script
        [str(SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=880,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    # Both PHPUnit runs finished green ("OK (" or "OK, but ... skipped").
    assert output.count("\nOK") == 2, output[-6000:]
    assert "ERRORS!" not in output
    assert "FAILURES!" not in output
