"""Small factories for tests: WeCom callback payloads encrypted with wechatpy's real crypto, clocks."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from wechatpy.enterprise.crypto import WeChatCrypto

CORP_ID = "wwdraftbottest01"
TOKEN = "draftbotTestToken"
AES_KEY = "ZHJhZnRib3QtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE"  # 43 characters, a 32-byte key


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class SignedCallback:
    query: str
    body: bytes


def signed_callback(xml: str, *, timestamp: int | None = None, nonce: str = "nonce123", token: str = TOKEN) -> SignedCallback:
    """Encrypt and sign `xml` as WeCom does; returns the query string and the POST body."""
    crypto = WeChatCrypto(token, AES_KEY, CORP_ID)
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    envelope = crypto.encrypt_message(xml, nonce, stamp)
    signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", envelope).group(1)
    encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", envelope).group(1)
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    query = urlencode({"msg_signature": signature, "timestamp": stamp, "nonce": nonce})
    return SignedCallback(query=query, body=body.encode())


def kf_event_xml(*, token: str = "ENCAbcd", open_kfid: str = "wkLUCKY", create_time: int | None = None) -> str:
    stamp = create_time if create_time is not None else int(time.time())
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><CreateTime>{stamp}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
        f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>"
    )


def app_text_xml(*, msg_id: str = "1001", user: str = "zhangsan", content: str = "1") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )
