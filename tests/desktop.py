"""The desktop programs people open our outputs with, for tests that look as they would.

Use in a test module: `from tests.desktop import desktop  # noqa: F401` and take the
`desktop` fixture.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ci import ci_required

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "desktop"


@pytest.fixture(scope="session")
def desktop() -> dict[str, str]:
    """Chromium, LibreOffice (`soffice`) and pdftoppm, installed by `.ci/desktop` when missing.

    Outside CI a machine without them (and without root) skips; under CI=true a missing
    program fails the test.
    """
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"
        if ci_required():
            pytest.fail(f".ci/desktop could not provide the desktop programs: {reason}")
        pytest.skip(f"desktop programs missing ({reason}); run `bash .ci/desktop` as root")
    return {tool: shutil.which(tool) for tool in ("chromium", "soffice", "pdftoppm")}
