"""The WeCom callback protocol: URL check, body limits, replay window, signature, decryption, parsing."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

MAX_BODY_BYTES = 64 * 1024
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class CallbackRefused(Exception):
    """A callback request that must be refused: HTTP `status` with a one-line `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{status} {reason}")


@dataclass(frozen=True)
class CallbackEvent:
    """A decrypted callback: its kind, the key that identifies WeCom's retries of it, and its fields."""

    kind: str  # "message" | "event" | "unknown"
    name: str  # MsgType for messages, Event for events
    dedupe_key: str
    fields: dict


class CallbackCrypto:
    """Verifies and decrypts WeCom callbacks with wechatpy's real crypto."""

    def __init__(self, *, token: str, aes_key: str, corp_id: str, replay_window: int) -> None:
        self._crypto = WeChatCrypto(token, aes_key, corp_id)
        self.replay_window = replay_window

    def verify_url(self, *, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The decrypted echostr for WeCom's URL check."""
        if not (msg_signature and timestamp and nonce and echostr):
            raise CallbackRefused(400, "missing msg_signature, timestamp, nonce or echostr")
        try:
            return _text(self._crypto.check_signature(msg_signature, timestamp, nonce, echostr))
        except InvalidSignatureException:
            raise CallbackRefused(403, "bad signature") from None
        except Exception:  # wechatpy raises plain errors for bad base64, padding or corp id
            raise CallbackRefused(400, "echostr cannot be decrypted") from None

    def open(self, *, body: bytes, msg_signature: str, timestamp: str, nonce: str, now: float) -> CallbackEvent:
        """Check and decrypt a POSTed callback body into a CallbackEvent."""
        if len(body) > MAX_BODY_BYTES:
            raise CallbackRefused(413, f"body over {MAX_BODY_BYTES} bytes")
        if _DTD.search(body):
            raise CallbackRefused(400, "DOCTYPE or ENTITY declarations are not accepted")
        if not (msg_signature and timestamp and nonce):
            raise CallbackRefused(400, "missing msg_signature, timestamp or nonce")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise CallbackRefused(400, "timestamp is not a number") from None
        if abs(now - sent_at) > self.replay_window:
            raise CallbackRefused(403, f"timestamp more than {self.replay_window} s from now (replay?)")
        encrypt = _outer_encrypt(body)
        try:
            plain = self._crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise CallbackRefused(403, "bad signature") from None
        except Exception:
            raise CallbackRefused(400, "body cannot be decrypted") from None
        return parse_plaintext(_text(plain))


def _outer_encrypt(body: bytes) -> str:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise CallbackRefused(400, "body is not well-formed XML") from None
    encrypt = root.findtext("Encrypt")
    if not encrypt:
        raise CallbackRefused(400, "body has no Encrypt element")
    return encrypt.strip()


def parse_plaintext(xml: str) -> CallbackEvent:
    """Parse decrypted callback XML into our own event type (wechatpy 1.8.18 misses several kinds)."""
    if _DTD.search(xml.encode()):
        raise CallbackRefused(400, "DOCTYPE or ENTITY declarations are not accepted")
    try:
        document = xmltodict.parse(xml, disable_entities=True)
    except Exception:
        raise CallbackRefused(400, "decrypted message is not well-formed XML") from None
    fields = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(fields, dict):
        raise CallbackRefused(400, "decrypted message has no <xml> root")
    msg_type = str(fields.get("MsgType") or "")
    if msg_type == "event":
        event = str(fields.get("Event") or "")
        key = fields.get("EventKey") or fields.get("TaskId") or fields.get("Token") or ""
        parts = (fields.get("FromUserName") or "", fields.get("CreateTime") or "", event, key)
        return CallbackEvent("event", event, "evt:" + ":".join(str(p) for p in parts), fields)
    if msg_type and fields.get("MsgId"):
        return CallbackEvent("message", msg_type, f"msg:{fields['MsgId']}", fields)
    return CallbackEvent("unknown", msg_type or "?", "", fields)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
