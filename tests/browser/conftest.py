"""The real-browser tests: JupyterLab on 127.0.0.1 driven by Playwright in Debian's chromium."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab in Debian's /usr/bin/chromium with Playwright (no browser download)"
    )
