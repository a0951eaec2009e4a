"""Hostile and malformed callbacks: every one is a 4xx without a stack trace, and none blocks the others."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.app import create_app
from bot.db.models import Job
from tests.conftest import make_settings, runtime
from tests.factories import (
    AES_KEY,
    CORP_ID,
    TOKEN,
    FakeClock,
    app_text_xml,
    signed_callback,
)


def job_keys(client: TestClient | FastAPI) -> list[str]:
    app = client.app if isinstance(client, TestClient) else client
    with app.state.runtime.sessions() as session:
        return list(session.scalars(select(Job.key).order_by(Job.key)))


def now_of(client: TestClient) -> int:
    return int(runtime(client).clock().timestamp())


def deep_xml(levels: int) -> str:
    """A well-formed message whose content nests `levels` elements deep."""
    return app_text_xml(msg_id="deep", content="x").replace("<Content>", "<Content>" + "<a>" * levels + "</a>" * levels + "<b>", 1).replace(
        "</Content>", "</b></Content>", 1).replace("<![CDATA[x]]>", "x")


def signed_envelope(encrypt: str, *, timestamp: int, nonce: str = "n1") -> str:
    """The query string WeCom would send for an outer body carrying `encrypt`."""
    signature = hashlib.sha1("".join(sorted([TOKEN, str(timestamp), nonce, encrypt])).encode()).hexdigest()
    return f"msg_signature={signature}&timestamp={timestamp}&nonce={nonce}"


def encrypt_only(xml: str, timestamp: int) -> str:
    envelope = WeChatCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(xml, "n1", str(timestamp))
    return re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", envelope).group(1)


# -- query parameters ---------------------------------------------------------------------------


def test_a_400_digit_timestamp_is_400_on_post_and_get(client: TestClient) -> None:
    signed = signed_callback(app_text_xml(), timestamp=now_of(client))
    query = re.sub(r"timestamp=\d+", "timestamp=" + "9" * 400, signed.query)
    response = client.post(f"/wecom/callback?{query}", content=signed.body)
    assert response.status_code == 400 and "timestamp" in response.text
    response = client.get(f"/wecom/callback?msg_signature=a&nonce=n&echostr=e&timestamp={'9' * 400}")
    assert response.status_code == 400 and "timestamp" in response.text
    assert job_keys(client) == []


@pytest.mark.parametrize("stamp", ["-5", " 1700000000", "1_700_000_000", "١٧٠٠٠٠٠٠٠٠", "1e9", "0x10"])
def test_a_timestamp_that_is_not_plain_digits_is_400(client: TestClient, stamp: str) -> None:
    response = client.post("/wecom/callback", params={"msg_signature": "a", "timestamp": stamp, "nonce": "n"},
                           content=b"<xml><Encrypt>a</Encrypt></xml>")
    assert response.status_code == 400
    assert response.text.strip() == "timestamp is not a number of seconds"


# -- the outer body -----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["GBK", "gb2312", "Big5", "ISO-8859-1", "UTF-16", "Shift_JIS", "bogus", "UTF-32"])
def test_an_outer_xml_declaring_another_encoding_is_400(client: TestClient, encoding: str) -> None:
    signed = signed_callback(app_text_xml(), timestamp=now_of(client))
    body = f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + signed.body
    response = client.post(f"/wecom/callback?{signed.query}", content=body)
    assert response.status_code == 400
    assert "only UTF-8" in response.text
    assert job_keys(client) == []


def test_an_outer_xml_declaring_utf8_is_accepted(client: TestClient) -> None:
    signed = signed_callback(app_text_xml(msg_id="utf8"), timestamp=now_of(client))
    body = b'<?xml version="1.0" encoding="UTF-8"?>' + signed.body
    assert client.post(f"/wecom/callback?{signed.query}", content=body).status_code == 200
    assert job_keys(client) == ["msg:utf8"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16"])
def test_a_utf16_body_cannot_smuggle_an_entity_past_the_filter(client: TestClient, codec: str) -> None:
    """The entity expands to a correctly signed Encrypt value: read as UTF-16, this body would be accepted."""
    now = now_of(client)
    encrypt = encrypt_only(app_text_xml(msg_id="smuggled"), now)
    body = f'<!DOCTYPE xml [<!ENTITY e "{encrypt}">]><xml><Encrypt>&e;</Encrypt></xml>'.encode(codec)
    response = client.post(f"/wecom/callback?{signed_envelope(encrypt, timestamp=now)}", content=body)
    assert response.status_code == 400
    assert job_keys(client) == []


def test_a_decrypted_message_nested_thousands_deep_is_400(client: TestClient) -> None:
    signed = signed_callback(deep_xml(5000), timestamp=now_of(client))
    assert len(signed.body) < 64 * 1024
    response = client.post(f"/wecom/callback?{signed.query}", content=signed.body)
    assert response.status_code == 400
    assert "deeper than" in response.text
    assert job_keys(client) == []


def test_an_over_long_dedupe_key_is_stored_under_its_hash(client: TestClient) -> None:
    msg_id = "9" * 400
    signed = signed_callback(app_text_xml(msg_id=msg_id), timestamp=now_of(client))
    for _ in range(2):
        assert client.post(f"/wecom/callback?{signed.query}", content=signed.body).status_code == 200
    assert job_keys(client) == ["sha256:" + hashlib.sha256(f"msg:{msg_id}".encode()).hexdigest()]


# -- fuzzing --------------------------------------------------------------------------------------

PARAM = st.one_of(st.text(max_size=40), st.text("0123456789", min_size=1, max_size=500), st.just(""))
BODY = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.tuples(st.sampled_from(["utf-8", "utf-16", "utf-16-le", "gbk", "latin-1"]), st.text(max_size=100)).map(
        lambda pair: f'<?xml version="1.0" encoding="{pair[0]}"?><xml><Encrypt>{pair[1]}</Encrypt></xml>'.encode(pair[0], "replace")),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(signature=PARAM, stamp=PARAM, nonce=PARAM, echostr=PARAM, body=BODY)
@example(signature="a", stamp="9" * 400, nonce="n", echostr="e", body=b"<xml><Encrypt>a</Encrypt></xml>")
@example(signature="a", stamp="1", nonce="n", echostr="e", body=b'<?xml version="1.0" encoding="GBK"?><xml/>')
def test_no_query_or_body_makes_the_callback_fail(
    client: TestClient, signature: str, stamp: str, nonce: str, echostr: str, body: bytes
) -> None:
    params = {"msg_signature": signature, "timestamp": stamp, "nonce": nonce}
    for response in (client.post("/wecom/callback", params=params, content=body),
                     client.get("/wecom/callback", params={**params, "echostr": echostr})):
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text


# -- one bad callback among many concurrent ones -----------------------------------------------------


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app under a real uvicorn server on a loopback port (in a thread); its shutdown closes the database."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        app.state.runtime.worker.stop()  # only the callback path is under test
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def post_together(base: str, requests: list[tuple[str, bytes]]) -> list[httpx.Response]:
    """POST every (query, body) at once, each on its own connection."""
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            return await asyncio.gather(*(http.post(f"/wecom/callback?{query}", content=body) for query, body in requests))
    return asyncio.run(run())


@pytest.fixture
def live_app(database_url: str) -> FastAPI:
    return create_app(make_settings(database_url), clock=FakeClock())


def innocent_callbacks(app: FastAPI, count: int) -> list[tuple[str, bytes]]:
    now = int(app.state.runtime.clock().timestamp())
    signed = [signed_callback(app_text_xml(msg_id=f"ok{n:02d}"), timestamp=now, nonce=f"n{n}") for n in range(count)]
    return [(s.query, s.body) for s in signed]


def test_a_poisoned_callback_among_30_concurrent_ones_is_the_only_one_refused(live_app: FastAPI) -> None:
    now = int(live_app.state.runtime.clock().timestamp())
    poisoned = signed_callback(deep_xml(5000), timestamp=now, nonce="poison")
    innocent = innocent_callbacks(live_app, 30)
    with serving(live_app) as base:
        for _ in range(3):  # WeCom retries: the innocent ones are stored once
            responses = post_together(base, [*innocent[:15], (poisoned.query, poisoned.body), *innocent[15:]])
            statuses = [r.status_code for r in responses]
            assert statuses[15] == 400 and "Traceback" not in responses[15].text
            assert statuses[:15] + statuses[16:] == [200] * 30
        assert job_keys(live_app) == [f"msg:ok{n:02d}" for n in range(30)]


def refuse_key_in_database(app: FastAPI, key: str) -> None:
    """A trigger that makes the database itself refuse the job row with this key (as it would a value it cannot hold)."""
    engine = app.state.runtime.engine
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text(
                f"CREATE TRIGGER refuse_one BEFORE INSERT ON jobs WHEN NEW.key = '{key}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"))
        else:
            connection.execute(text(
                "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.key = '{key}' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END "
                "$$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER refuse_one BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_one()"))


def test_a_row_the_database_refuses_fails_alone_and_its_batch_is_stored(live_app: FastAPI) -> None:
    innocent = innocent_callbacks(live_app, 31)
    with serving(live_app) as base:
        refuse_key_in_database(live_app, "msg:ok07")
        responses = post_together(base, innocent)
        statuses = [r.status_code for r in responses]
        assert statuses[7] == 400 and "cannot be stored" in responses[7].text
        assert statuses[:7] + statuses[8:] == [200] * 30
        assert job_keys(live_app) == [f"msg:ok{n:02d}" for n in range(31) if n != 7]


def test_a_database_that_cannot_store_callbacks_answers_503_without_a_stack_trace(client: TestClient) -> None:
    with runtime(client).engine.begin() as connection:
        connection.execute(text("DROP TABLE jobs"))
    signed = signed_callback(app_text_xml(msg_id="lost"), timestamp=now_of(client))
    response = client.post(f"/wecom/callback?{signed.query}", content=signed.body)
    assert response.status_code == 503  # WeCom delivers it again later
    assert "retry" in response.text and "Traceback" not in response.text
