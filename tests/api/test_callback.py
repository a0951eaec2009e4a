"""The WeCom callback over HTTP, with payloads encrypted by wechatpy's real crypto."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.db.models import Job
from tests.conftest import make_settings, runtime
from tests.factories import FakeClock, app_text_xml, kf_event_xml, signed_callback

# Published WeCom callback crypto samples (Tencent's WXBizMsgCrypt sample, the worked example of WeCom's
# encryption documentation, wechatpy's own vectors), copied unchanged from the project's shared test data
# (wecom/vectors.json); its "source" and "verified_with" fields say where each case comes from.
VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "wecom_vectors.json").read_text(encoding="utf-8"))


def job_count(client: TestClient) -> int:
    with runtime(client).sessions() as session:
        return session.scalar(select(func.count()).select_from(Job))


def post(client: TestClient, signed, **kwargs):
    return client.post(f"/wecom/callback?{signed.query}", content=signed.body, **kwargs)


@pytest.fixture
def vector_client(database_url: str) -> TestClient:
    """An app configured with the credentials of Tencent's published sample, clock at the sample's time."""
    sample = next(c for c in VECTORS["cases"] if c["id"] == "sample_post_xml_text")
    settings = make_settings(
        database_url, wecom_corp_id=VECTORS["corp_id"], wecom_token=VECTORS["token"],
        wecom_aes_key=VECTORS["encoding_aes_key"],
    )
    clock = FakeClock(datetime.fromtimestamp(int(sample["timestamp"]), timezone.utc))
    with TestClient(create_app(settings, clock=clock)) as client:
        runtime(client).worker.stop()
        yield client


def test_url_check_echoes_the_tencent_sample_plaintext(vector_client: TestClient) -> None:
    case = next(c for c in VECTORS["cases"] if c["kind"] == "url_verify")
    response = vector_client.get(f"/wecom/callback?{case['query_string']}")
    assert response.status_code == 200
    assert response.content == case["expected_plaintext"].encode()


def test_url_check_with_a_bad_signature_is_403(vector_client: TestClient) -> None:
    case = VECTORS["negative_cases"][0]
    response = vector_client.get(
        "/wecom/callback",
        params={k: case[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")},
    )
    assert response.status_code == 403
    assert response.text.strip() == "bad signature"


def test_the_tencent_sample_post_decrypts_and_is_stored(vector_client: TestClient) -> None:
    case = next(c for c in VECTORS["cases"] if c["id"] == "sample_post_xml_text")
    query = f"msg_signature={case['msg_signature']}&timestamp={case['timestamp']}&nonce={case['nonce']}"
    response = vector_client.post(f"/wecom/callback?{query}", content=case["body"].encode())
    assert response.status_code == 200
    assert response.content == b""
    assert job_count(vector_client) == 1


def test_a_stale_sample_is_refused_as_a_replay(database_url: str) -> None:
    case = next(c for c in VECTORS["cases"] if c["id"] == "sample_post_xml_text")
    settings = make_settings(
        database_url, wecom_corp_id=VECTORS["corp_id"], wecom_token=VECTORS["token"],
        wecom_aes_key=VECTORS["encoding_aes_key"],
    )
    with TestClient(create_app(settings)) as client:
        query = f"msg_signature={case['msg_signature']}&timestamp={case['timestamp']}&nonce={case['nonce']}"
        response = client.post(f"/wecom/callback?{query}", content=case["body"].encode())
        assert response.status_code == 403
        assert "replay" in response.text
        assert job_count(client) == 0


def test_four_deliveries_of_one_message_store_it_once(client: TestClient) -> None:
    signed = signed_callback(app_text_xml(msg_id="777"), timestamp=int(runtime(client).clock().timestamp()))
    for _ in range(4):
        response = post(client, signed)
        assert response.status_code == 200
        assert response.content == b""
    assert job_count(client) == 1


def test_kf_events_are_deduplicated_by_sender_time_event_and_token(client: TestClient) -> None:
    now = int(runtime(client).clock().timestamp())
    first = signed_callback(kf_event_xml(token="T1", create_time=now), timestamp=now)
    second = signed_callback(kf_event_xml(token="T2", create_time=now), timestamp=now, nonce="other")
    for signed in (first, first, second, second):
        assert post(client, signed).status_code == 200
    assert job_count(client) == 2


def test_a_body_over_64_kib_is_413(client: TestClient) -> None:
    response = client.post("/wecom/callback?msg_signature=a&timestamp=1&nonce=n", content=b"<xml>" + b"a" * 70_000 + b"</xml>")
    assert response.status_code == 413
    assert job_count(client) == 0


@pytest.mark.parametrize("declaration", ['<!DOCTYPE xml [<!ENTITY a "b">]>', '<!ENTITY x SYSTEM "file:///etc/passwd">'])
def test_doctype_or_entity_is_400(client: TestClient, declaration: str) -> None:
    signed = signed_callback(app_text_xml(), timestamp=int(runtime(client).clock().timestamp()))
    body = declaration.encode() + signed.body
    response = client.post(f"/wecom/callback?{signed.query}", content=body)
    assert response.status_code == 400
    assert "DOCTYPE" in response.text
    assert job_count(client) == 0


def test_a_bad_signature_is_403(client: TestClient) -> None:
    signed = signed_callback(app_text_xml(), timestamp=int(runtime(client).clock().timestamp()), token="someone-elses-token")
    response = post(client, signed)
    assert response.status_code == 403
    assert response.text.strip() == "bad signature"
    assert job_count(client) == 0


def test_a_timestamp_over_ten_minutes_away_is_403(client: TestClient) -> None:
    now = int(runtime(client).clock().timestamp())
    for stamp in (now - 601, now + 601):
        response = post(client, signed_callback(app_text_xml(), timestamp=stamp))
        assert response.status_code == 403
        assert "replay" in response.text
    assert post(client, signed_callback(app_text_xml(), timestamp=now - 590)).status_code == 200


def test_an_undecryptable_body_is_400(client: TestClient) -> None:
    import hashlib

    from tests.factories import TOKEN

    now = str(int(runtime(client).clock().timestamp()))
    encrypt = "bm90IHJlYWxseSBlbmNyeXB0ZWQ="  # valid base64, not AES output
    signature = hashlib.sha1("".join(sorted([TOKEN, now, "n", encrypt])).encode()).hexdigest()
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    response = client.post(f"/wecom/callback?msg_signature={signature}&timestamp={now}&nonce=n", content=body)
    assert response.status_code == 400
    assert "decrypted" in response.text
    assert job_count(client) == 0


@pytest.mark.parametrize("body", [b"not xml at all", b"<xml><NoEncrypt/></xml>", b""])
def test_a_malformed_body_is_400(client: TestClient, body: bytes) -> None:
    now = int(runtime(client).clock().timestamp())
    response = client.post(f"/wecom/callback?msg_signature=x&timestamp={now}&nonce=n", content=body)
    assert response.status_code == 400
    assert job_count(client) == 0


def test_missing_query_parameters_are_400(client: TestClient) -> None:
    response = client.post("/wecom/callback", content=b"<xml><Encrypt>a</Encrypt></xml>")
    assert response.status_code == 400
    assert "missing" in response.text


def test_an_unknown_message_kind_is_200_and_not_stored(client: TestClient) -> None:
    now = int(runtime(client).clock().timestamp())
    xml = f"<xml><ToUserName>x</ToUserName><CreateTime>{now}</CreateTime><MsgType>mystery</MsgType></xml>"
    assert post(client, signed_callback(xml, timestamp=now)).status_code == 200
    assert job_count(client) == 0


def test_unconfigured_callback_is_503_with_what_to_set(database_url: str) -> None:
    settings = make_settings(database_url, wecom_corp_id="", wecom_token="", wecom_aes_key="")
    with TestClient(create_app(settings)) as client:
        for response in (client.get("/wecom/callback"), client.post("/wecom/callback", content=b"<xml/>")):
            assert response.status_code == 503
            assert "DRAFTBOT_WECOM_AES_KEY" in response.text
            assert response.text.count("\n") == 1
        assert client.get("/healthz").json()["wecom_callback"] is False


def test_refusals_are_counted_in_metrics(client: TestClient) -> None:
    post(client, signed_callback(app_text_xml(), timestamp=int(runtime(client).clock().timestamp()), token="wrong"))
    metrics = client.get("/metrics").text
    assert 'draftbot_callbacks_total{outcome="refused_403"} 1.0' in metrics
