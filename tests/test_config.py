import pytest

from bot.config import get_settings
from bot.errors import SettingsError


def test_a_short_aes_key_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="DRAFTBOT_WECOM_AES_KEY: EncodingAESKey must be 43 characters, got 10"):
        get_settings(wecom_aes_key="0123456789")


def test_a_bad_database_url_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="DRAFTBOT_DATABASE_URL"):
        get_settings(database_url="not a url")
    with pytest.raises(SettingsError, match="unsupported database 'mysql'"):
        get_settings(database_url="mysql://localhost/x")


def test_postgresql_urls_use_psycopg_3() -> None:
    assert get_settings(database_url="postgresql://u@localhost/db").database_url == "postgresql+psycopg://u@localhost/db"


def test_approvers_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAFTBOT_APPROVERS", "zhangsan, lisi,,")
    assert get_settings().approvers == ["zhangsan", "lisi"]


def test_no_wecom_settings_means_callback_unconfigured() -> None:
    settings = get_settings(wecom_corp_id="", wecom_token="", wecom_aes_key="")
    assert not settings.callback_configured


def test_api_base_gets_a_trailing_slash() -> None:
    assert get_settings(wecom_api_base="http://127.0.0.1:8080/cgi-bin").wecom_api_base == "http://127.0.0.1:8080/cgi-bin/"
