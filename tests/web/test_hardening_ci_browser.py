"""Issue 12: on CI ($CI set) a missing chromium fails the browser tests instead of skipping them."""

from __future__ import annotations

import pytest
import web_fixtures


def test_missing_chromium_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(web_fixtures, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI"):
        web_fixtures.require_chromium(module=True)


def test_missing_chromium_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(web_fixtures, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        web_fixtures.require_chromium()
