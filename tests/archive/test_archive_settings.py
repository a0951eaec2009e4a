"""The chat archive's settings are checked at start-up, each problem naming its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import get_settings
from bot.errors import ArchiveError, SettingsError
from bot.wecom.archive import ArchiveKeys, FinanceSdk, MissingKey, error_meaning, mentions


def test_keys_are_one_pem_or_pairs_by_version(archive_keys: dict, tmp_path: Path) -> None:
    one = get_settings(archive_private_key=str(archive_keys[1][1]))
    assert one.archive_private_key == {0: archive_keys[1][1]}
    both = get_settings(archive_private_key=f"1={archive_keys[1][1]}, 2={archive_keys[2][1]}")
    assert both.archive_private_key == {1: archive_keys[1][1], 2: archive_keys[2][1]}
    assert get_settings().archive_poll_seconds == 15


@pytest.mark.parametrize("value, problem", [
    ("x=/keys/v1.pem", "publickey_ver=path pairs"),
    ("3=/nowhere/v3.pem", "the key of publickey_ver 3 '/nowhere/v3.pem' cannot be read"),
])
def test_a_bad_key_setting_names_the_variable_and_the_item(value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        get_settings(archive_private_key=value)
    assert "DRAFTBOT_ARCHIVE_PRIVATE_KEY" in str(caught.value) and problem in str(caught.value)


def test_a_key_file_that_is_not_a_private_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "public.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SettingsError, match="not an unencrypted private key in PEM"):
        get_settings(archive_private_key=f"1={tmp_path / 'public.pem'}")


def test_the_sdk_needs_its_file_and_the_other_settings(fake_sdk: Path, archive_keys: dict) -> None:
    with pytest.raises(SettingsError, match="DRAFTBOT_ARCHIVE_SDK: no file '/nowhere/libWeWorkFinanceSdk_C.so'"):
        get_settings(archive_sdk="/nowhere/libWeWorkFinanceSdk_C.so")
    with pytest.raises(SettingsError) as caught:
        get_settings(archive_sdk=str(fake_sdk), wecom_corp_id="ww1")
    assert "DRAFTBOT_ARCHIVE_SECRET" in str(caught.value) and "DRAFTBOT_ARCHIVE_PRIVATE_KEY" in str(caught.value)
    ok = get_settings(archive_sdk=str(fake_sdk), wecom_corp_id="ww1", archive_secret="s",
                      archive_private_key=str(archive_keys[1][1]))
    assert ok.archive_configured


def test_a_library_that_is_not_the_sdk_is_refused(tmp_path: Path) -> None:
    (tmp_path / "not.so").write_bytes(b"not a library")
    with pytest.raises(ArchiveError, match="无法加载"):
        FinanceSdk(tmp_path / "not.so", corp_id="ww1", secret="s")


def test_init_refuses_a_wrong_secret_with_its_meaning(fake_sdk: Path, script) -> None:  # type: ignore[no-untyped-def]
    script.lines.append("secret right-secret")
    script.save()
    with pytest.raises(ArchiveError, match="Init 返回 10000（参数错误）"):
        FinanceSdk(fake_sdk, corp_id="ww1", secret="wrong")
    FinanceSdk(fake_sdk, corp_id="ww1", secret="right-secret").close()


def test_every_documented_code_has_its_meaning() -> None:
    assert [error_meaning(code) for code in (10001, 10007, 10011)] == ["网络错误", "找不到消息加密版本的私钥，需要重新传入私钥对", "证书错误"]
    assert error_meaning(99999) == "未知错误"


def test_a_missing_version_is_told_apart_from_a_wrong_key(archive_keys: dict) -> None:
    keys = ArchiveKeys.load({1: archive_keys[1][1]})
    with pytest.raises(MissingKey) as caught:
        keys.message_key(2, "AAAA")
    assert caught.value.version == 2 and str(caught.value).startswith(MissingKey.PREFIX)
    with pytest.raises(ArchiveError, match="解不开"):
        keys.message_key(1, "AAAA")


def test_mentions_are_the_words_after_at() -> None:
    assert mentions("@张三 在吗 @lisi\u2005你好") == ("张三", "lisi")
