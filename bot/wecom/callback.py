"""The WeCom callback protocol: URL check, body limits, replay window, signature, decryption, parsing."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.errors import Refused

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32  # nesting of a decrypted message; WeCom's deepest (template_card_event SelectedItems) is about 5
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds, ASCII digits only
_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_UTF8 = {"utf-8", "utf8"}


class CallbackRefused(Refused):
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
        parse_timestamp(timestamp)
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
        xml = _utf8_xml(body)
        if not (msg_signature and timestamp and nonce):
            raise CallbackRefused(400, "missing msg_signature, timestamp or nonce")
        if abs(now - parse_timestamp(timestamp)) > self.replay_window:
            raise CallbackRefused(403, f"timestamp more than {self.replay_window} s from now (replay?)")
        encrypt = _outer_encrypt(xml)
        try:
            plain = _text(self._crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce))
        except InvalidSignatureException:
            raise CallbackRefused(403, "bad signature") from None
        except Exception:  # bad base64, padding, corp id, or a plaintext that is not UTF-8
            raise CallbackRefused(400, "body cannot be decrypted") from None
        return parse_plaintext(plain)


def parse_timestamp(timestamp: str) -> int:
    """The callback's `timestamp` query parameter as Unix seconds (1 to 12 ASCII digits), else 400."""
    if not _TIMESTAMP.fullmatch(timestamp):
        raise CallbackRefused(400, "timestamp is not a number of seconds")
    return int(timestamp)


def _utf8_xml(body: bytes) -> str:
    """The POSTed body as text: UTF-8 only (as WeCom sends it), without DOCTYPE or ENTITY declarations.

    Checked on the decoded text, so another encoding (UTF-16 without a byte order mark is valid
    UTF-8 byte by byte) cannot hide a declaration from the check or change how the parser reads it.
    """
    try:
        xml = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CallbackRefused(400, "body is not UTF-8") from None
    if "\x00" in xml:  # never in XML; UTF-16 text read as UTF-8 is full of them
        raise CallbackRefused(400, "body contains NUL characters: not UTF-8 XML")
    declared = _DECLARED_ENCODING.match(xml)
    if declared and declared.group(1).strip().lower() not in _UTF8:
        raise CallbackRefused(400, f"body declares encoding {declared.group(1)[:20]!r}: only UTF-8 is accepted")
    if _DTD.search(xml):
        raise CallbackRefused(400, "DOCTYPE or ENTITY declarations are not accepted")
    return xml


def _outer_encrypt(xml: str) -> str:
    try:
        parser = ElementTree.XMLParser(encoding="utf-8")  # read as the UTF-8 it was checked as, whatever it declares
        parser.feed(xml.encode("utf-8"))
        root = parser.close()
    except (ElementTree.ParseError, ValueError, LookupError):
        raise CallbackRefused(400, "body is not well-formed XML") from None
    encrypt = root.findtext("Encrypt")
    if not encrypt:
        raise CallbackRefused(400, "body has no Encrypt element")
    return encrypt.strip()


def parse_plaintext(xml: str) -> CallbackEvent:
    """Parse decrypted callback XML into our own event type (wechatpy 1.8.18 misses several kinds)."""
    if _DTD.search(xml):
        raise CallbackRefused(400, "DOCTYPE or ENTITY declarations are not accepted")
    try:
        document = xmltodict.parse(xml, disable_entities=True)
    except Exception:
        raise CallbackRefused(400, "decrypted message is not well-formed XML") from None
    fields = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(fields, dict):
        raise CallbackRefused(400, "decrypted message has no <xml> root")
    if _deeper_than(fields, MAX_DEPTH):
        raise CallbackRefused(400, f"decrypted message nests elements deeper than {MAX_DEPTH} levels")
    msg_type = str(fields.get("MsgType") or "")
    if msg_type == "event":
        event = str(fields.get("Event") or "")
        key = fields.get("EventKey") or fields.get("TaskId") or fields.get("Token") or ""
        parts = (fields.get("FromUserName") or "", fields.get("CreateTime") or "", event, key)
        return CallbackEvent("event", event, "evt:" + ":".join(str(p) for p in parts), fields)
    if msg_type and fields.get("MsgId"):
        return CallbackEvent("message", msg_type, f"msg:{fields['MsgId']}", fields)
    return CallbackEvent("unknown", msg_type or "?", "", fields)


def _deeper_than(value: object, limit: int) -> bool:
    """True if dicts and lists nest more than `limit` levels in `value` (walked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
