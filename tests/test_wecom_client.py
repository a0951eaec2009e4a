"""bot/wecom/client.py and bot/wecom/kf.py against the loopback fake of WeCom (tests/fake_wecom.py)."""

from __future__ import annotations

import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from wechatpy.exceptions import WeChatClientException

from bot.errors import WeComError
from bot.wecom.client import WeComClient
from bot.wecom.kf import CUSTOMER, KfMessage, send_text, sync_pages

try:
    from tests.fake_wecom import FakeWeCom
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from fake_wecom import FakeWeCom

CORP_ID = "ww-test-corp"
SECRET = "good-secret"
KF = "wk-open-kfid-1"
USER = "wm-external-1"


@pytest.fixture
def fake():
    with FakeWeCom(secrets={SECRET}) as server:
        yield server


@pytest.fixture
def make_client(fake):
    """Build WeComClients against the fake; their HTTP sessions are closed afterwards (no ResourceWarning)."""
    made: list[WeComClient] = []

    def make(*, secret: str = SECRET, timeout: float = 2.0, api_base: str | None = None) -> WeComClient:
        client = WeComClient(corp_id=CORP_ID, secret=secret, api_base=api_base or fake.base_url, timeout=timeout)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


# -- tokens -----------------------------------------------------------------------------------


def test_gettoken_goes_to_the_configured_base_url(fake, client):
    result = client.post("message/send", {"touser": "u1", "msgtype": "text", "agentid": 1, "text": {"content": "x"}})

    assert result["errcode"] == 0
    gettoken = fake.calls("gettoken")
    assert len(gettoken) == 1
    assert gettoken[0]["query"] == {"corpid": CORP_ID, "corpsecret": SECRET}
    [sent] = fake.calls("message/send")
    assert sent["query"]["access_token"] == fake.issued_tokens()[0]
    assert client._client.API_BASE_URL == fake.base_url
    assert "qyapi.weixin.qq.com" not in client._client.API_BASE_URL


def test_the_token_is_fetched_once_and_reused(fake, client):
    for _ in range(3):
        client.post("message/send", {"touser": "u1", "msgtype": "text", "agentid": 1, "text": {"content": "x"}})

    assert len(fake.calls("gettoken")) == 1
    assert len({c["query"]["access_token"] for c in fake.calls("message/send")}) == 1


def test_an_expired_token_is_refetched_transparently(fake, client):
    send_text(client, open_kfid=KF, external_userid=USER, text="one", msgid="out-1")
    [old_token] = fake.issued_tokens()
    fake.expire_tokens()

    send_text(client, open_kfid=KF, external_userid=USER, text="two", msgid="out-2")

    assert len(fake.calls("gettoken")) == 2
    [new_token] = fake.issued_tokens()
    assert new_token != old_token
    tokens_used = [c["query"]["access_token"] for c in fake.calls("kf/send_msg")]
    assert tokens_used == [old_token, old_token, new_token]  # 2nd send: refused (42001), refetched, retried
    assert [d["content"] for d in fake.deliveries()] == ["one", "two"]


def test_a_persistent_token_error_is_refetched_only_once(fake, client):
    fake.fail_next("kf/sync_msg", 5, "errcode40014")

    with pytest.raises(WeComError) as caught:
        client.post("kf/sync_msg", {"open_kfid": KF})

    assert caught.value.errcode == 40014
    assert len(fake.calls("gettoken")) == 2  # the first fetch and one refetch


def test_a_wrong_secret_on_gettoken_raises_wecom_error_40001(make_client):
    client = make_client(secret="wrong-secret")

    with pytest.raises(WeComError) as caught:
        client.post("kf/sync_msg", {"open_kfid": KF})

    assert caught.value.errcode == 40001
    assert not caught.value.retryable


def test_http_500_on_gettoken_raises_wecom_error_none(fake, client):
    fake.fail_next("gettoken", 1, "http500")

    with pytest.raises(WeComError) as caught:
        client.post("kf/sync_msg", {"open_kfid": KF})

    assert caught.value.errcode is None
    assert caught.value.retryable


# -- failures ---------------------------------------------------------------------------------


def test_a_hang_longer_than_the_timeout_raises_wecom_error_none_quickly(fake, make_client):
    client = make_client(timeout=0.5)
    fake.fail_next("kf/sync_msg", 1, "hang", seconds=3)

    started = time.monotonic()
    with pytest.raises(WeComError) as caught:
        client.post("kf/sync_msg", {"open_kfid": KF})
    elapsed = time.monotonic() - started

    assert caught.value.errcode is None
    assert caught.value.retryable
    assert elapsed < 2.0


def test_a_hang_on_gettoken_is_also_bounded_by_the_timeout(fake, make_client):
    client = make_client(timeout=0.5)
    fake.fail_next("gettoken", 1, "hang", seconds=3)

    started = time.monotonic()
    with pytest.raises(WeComError) as caught:
        client.post("kf/sync_msg", {"open_kfid": KF})

    assert caught.value.errcode is None
    assert time.monotonic() - started < 2.0


def test_a_short_hang_within_the_timeout_succeeds(fake, make_client):
    client = make_client(timeout=2.0)
    fake.fail_next("kf/sync_msg", 1, "hang", seconds=0.2)

    assert client.post("kf/sync_msg", {"open_kfid": KF})["errcode"] == 0


def test_http_500_raises_wecom_error_none(fake, client):
    fake.fail_next("kf/send_msg", 1, "http500")

    with pytest.raises(WeComError) as caught:
        send_text(client, open_kfid=KF, external_userid=USER, text="hi", msgid="out-1")

    assert caught.value.errcode is None
    assert caught.value.retryable
    assert "500" in str(caught.value)
    assert fake.deliveries() == []


def test_errcode_minus_1_raises_retryable_wecom_error(fake, client):
    fake.fail_next("kf/sync_msg", 1, "errcode-1")

    with pytest.raises(WeComError) as caught:
        client.post("kf/sync_msg", {"open_kfid": KF})

    assert caught.value.errcode == -1
    assert caught.value.retryable
    assert client.post("kf/sync_msg", {"open_kfid": KF})["errcode"] == 0  # only the next call failed


def test_other_errcodes_are_not_retryable(fake, client):
    fake.fail_next("kf/send_msg", 1, "errcode45009")

    with pytest.raises(WeComError) as caught:
        send_text(client, open_kfid=KF, external_userid=USER, text="hi", msgid="out-1")

    assert caught.value.errcode == 45009
    assert not caught.value.retryable


def test_an_unknown_endpoint_is_http_404_wecom_error_none(client):
    with pytest.raises(WeComError) as caught:
        client.post("no/such_endpoint", {})

    assert caught.value.errcode is None
    assert "404" in str(caught.value)


def test_an_unreachable_wecom_raises_wecom_error_none(fake, make_client):
    with FakeWeCom() as gone:
        dead_base = gone.base_url  # a loopback port nobody listens on once this block ends
    client = make_client(api_base=dead_base, timeout=0.5)

    with pytest.raises(WeComError) as caught:
        client.post("kf/sync_msg", {"open_kfid": KF})

    assert caught.value.errcode is None


# -- kf/sync_msg ------------------------------------------------------------------------------


def test_sync_pages_follows_has_more_across_pages(fake, client):
    fake.page_size = 2
    msgids = [fake.add_customer_message(KF, USER, f"message {i}") for i in range(5)]
    fake.add_customer_message("wk-other-kf", USER, "not for this kf")

    pages = list(sync_pages(client, token="sync-token", open_kfid=KF, cursor=""))

    assert [len(messages) for messages, _ in pages] == [2, 2, 1]
    assert [m.msgid for messages, _ in pages for m in messages] == msgids
    assert [m.text for messages, _ in pages for m in messages] == [f"message {i}" for i in range(5)]
    cursors = [cursor for _, cursor in pages]
    assert all(cursors) and len(set(cursors)) == 3
    sent = [c["body"] for c in fake.calls("kf/sync_msg")]
    assert "cursor" not in sent[0]
    assert [b.get("cursor") for b in sent[1:]] == cursors[:2]  # each page asks from the previous next_cursor
    assert all(b["token"] == "sync-token" and b["open_kfid"] == KF for b in sent)


def test_sync_from_an_old_cursor_returns_the_same_messages_again(fake, client):
    fake.page_size = 2
    for i in range(3):
        fake.add_customer_message(KF, USER, f"message {i}")
    first = list(sync_pages(client, token="", open_kfid=KF, cursor=""))
    after_first_page = first[0][1]
    last_cursor = first[-1][1]

    again = list(sync_pages(client, token="", open_kfid=KF, cursor=after_first_page))
    nothing_new = list(sync_pages(client, token="", open_kfid=KF, cursor=last_cursor))

    assert [m.text for messages, _ in again for m in messages] == ["message 2"]
    assert nothing_new == [([], last_cursor)]


def test_sync_maps_items_into_kf_messages(fake, client):
    fake.add_customer_message(KF, USER, "你好", msgid="in-1", send_time=1700000000)
    fake.add_customer_message(KF, USER, msgtype="image", msgid="in-2")
    fake.add_customer_message(KF, USER, "from the servicer", origin=5, msgid="in-3")

    [(messages, _)] = list(sync_pages(client, token="", open_kfid=KF, cursor=""))

    assert messages[0] == KfMessage(msgid="in-1", open_kfid=KF, external_userid=USER, send_time=1700000000,
                                    origin=CUSTOMER, msgtype="text", text="你好")
    assert (messages[1].msgtype, messages[1].text, messages[1].origin) == ("image", "", CUSTOMER)
    assert (messages[2].origin, messages[2].text) == (5, "from the servicer")


# -- kf/send_msg ------------------------------------------------------------------------------


def test_send_text_records_exactly_the_text_and_msgid(fake, client):
    text = "您好！订单 #123 已发货 🚚\n明天送达。"

    send_text(client, open_kfid=KF, external_userid=USER, text=text, msgid="draft-42-v1")

    assert fake.deliveries() == [
        {"touser": USER, "open_kfid": KF, "msgid": "draft-42-v1", "msgtype": "text", "content": text}
    ]
    [call] = fake.calls("kf/send_msg")
    assert call["body"] == {"touser": USER, "open_kfid": KF, "msgid": "draft-42-v1", "msgtype": "text",
                            "text": {"content": text}}


def test_a_duplicate_msgid_send_raises_nothing_and_delivers_once(fake, client):
    send_text(client, open_kfid=KF, external_userid=USER, text="hello", msgid="draft-7-v1")
    send_text(client, open_kfid=KF, external_userid=USER, text="hello", msgid="draft-7-v1")

    assert len(fake.calls("kf/send_msg")) == 2
    assert [d["msgid"] for d in fake.deliveries()] == ["draft-7-v1"]


# -- the fake's other endpoints and its out-of-process front door -----------------------------


def test_template_card_response_codes_work_once(fake, client):
    sent = client.post("message/send", {"touser": "u1", "msgtype": "template_card", "agentid": 1,
                                        "template_card": {"card_type": "button_interaction"}})
    update = {"userids": ["u1"], "agentid": 1, "response_code": sent["response_code"],
              "button": {"replace_name": "done"}}

    assert client.post("message/update_template_card", update)["errcode"] == 0
    with pytest.raises(WeComError) as caught:
        client.post("message/update_template_card", update)

    assert caught.value.errcode == 60140


def test_oauth_codes_resolve_once(fake, client):
    fake.add_oauth_code("code-1", "zhangsan")
    getuserinfo = client._client.get  # WeComClient only POSTs; wechatpy's get adds the access_token

    assert getuserinfo("auth/getuserinfo", params={"code": "code-1"})["userid"] == "zhangsan"
    with pytest.raises(WeChatClientException) as caught:
        getuserinfo("auth/getuserinfo", params={"code": "code-1"})
    assert caught.value.errcode == 40029


def test_calls_without_a_valid_token_are_refused(fake):
    with requests.Session() as http:
        answer = http.post(fake.base_url + "kf/sync_msg", params={"access_token": "made-up"}, json={"open_kfid": KF})
    assert answer.json()["errcode"] == 40014


def test_the_fake_runs_as_a_separate_process_with_a_control_api(make_client):
    script = Path(__file__).with_name("fake_wecom.py")
    with subprocess.Popen([sys.executable, str(script), "--port", "0"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as proc:
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            assert ready, "the fake did not start within 10 s"
            line = proc.stdout.readline().strip()
            assert line.startswith("fake wecom listening on http://127.0.0.1:")
            base_url = line.rsplit(" ", 1)[1]
            origin = base_url.removesuffix("/cgi-bin/")
            with requests.Session() as control:
                control.post(f"{origin}/_fake/customer_message",
                             json={"open_kfid": KF, "external_userid": USER, "text": "hi", "msgid": "in-1"}
                             ).raise_for_status()
                control.post(f"{origin}/_fake/fail",
                             json={"endpoint": "kf/send_msg", "times": 1, "mode": "errcode-1"}).raise_for_status()
                client = make_client(api_base=base_url)

                [(messages, _)] = list(sync_pages(client, token="", open_kfid=KF, cursor=""))
                with pytest.raises(WeComError):
                    send_text(client, open_kfid=KF, external_userid=USER, text="reply", msgid="out-1")
                send_text(client, open_kfid=KF, external_userid=USER, text="reply", msgid="out-1")

                calls = control.get(f"{origin}/_fake/calls").json()
                deliveries = control.get(f"{origin}/_fake/deliveries").json()
                control.post(f"{origin}/_fake/reset").raise_for_status()
                after_reset = control.get(f"{origin}/_fake/calls").json()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    assert [m.text for m in messages] == ["hi"]
    assert [c["endpoint"] for c in calls] == ["gettoken", "kf/sync_msg", "kf/send_msg", "kf/send_msg"]
    assert [c["failure"] for c in calls] == [None, None, "errcode-1", None]
    assert [(d["msgid"], d["content"]) for d in deliveries] == [("out-1", "reply")]
    assert after_reset == []
