from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shulian.cli import app as cli
from shulian.core.config import Settings, load_settings
from shulian.core.errors import ConfigurationError


class TestLoadSettings:
    def test_reads_shulian_variables(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("SHULIAN_DEFAULT_LANGUAGE", "en")
        monkeypatch.setenv("SHULIAN_DATA_DIR", str(tmp_path))
        settings = load_settings()
        assert settings.default_language == "en"
        assert settings.effective_database_url == f"sqlite:///{tmp_path / 'shulian.db'}"

    def test_malformed_value_names_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SHULIAN_DEFAULT_LANGUAGE", "klingon")
        monkeypatch.setenv("SHULIAN_SESSION_MAX_AGE", "soon")
        with pytest.raises(ConfigurationError) as err:
            load_settings()
        assert "SHULIAN_DEFAULT_LANGUAGE" in err.value.detail
        assert "SHULIAN_SESSION_MAX_AGE" in err.value.detail

    def test_rejects_unknown_database_kind(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SHULIAN_DATABASE_URL", "mysql://root@localhost/lib")
        with pytest.raises(ConfigurationError, match="SHULIAN_DATABASE_URL"):
            load_settings()

    def test_cli_refuses_to_start_with_the_variable_named(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("SHULIAN_DEFAULT_LANGUAGE", "fr")
        result = CliRunner().invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 2
        assert "SHULIAN_DEFAULT_LANGUAGE" in result.output


class TestSecret:
    def test_generated_once_with_owner_only_permissions(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path / "var")
        first = settings.secret()
        assert len(first) >= 40
        assert settings.secret() == first
        mode = stat.S_IMODE((tmp_path / "var" / "secret_key").stat().st_mode)
        assert mode == 0o600

    def test_configured_secret_wins(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path, secret_key="from-env")  # type: ignore[arg-type]
        assert settings.secret() == "from-env"
        assert not (tmp_path / "secret_key").exists()
