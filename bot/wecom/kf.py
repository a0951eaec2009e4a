"""微信客服 (kf): pull customer messages with kf/sync_msg, reply with kf/send_msg."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.drafts.lifecycle import ApprovedReply
from bot.errors import WeComError
from bot.wecom.client import WeComClient

CUSTOMER = 3  # origin of a message the customer sent (4: system event, 5: a servicer's message)
DUPLICATE_MSGID = 95033  # kf/send_msg refuses a msgid it has already accepted


@dataclass(frozen=True)
class KfMessage:
    """One item of a kf/sync_msg page."""

    msgid: str
    open_kfid: str
    external_userid: str
    send_time: int
    origin: int
    msgtype: str
    text: str

    @classmethod
    def from_item(cls, item: dict) -> "KfMessage":
        """Read one msg_list item; a field of the wrong type reads as empty (0 for numbers), never an error."""
        msgtype = str(item.get("msgtype", ""))
        text = ""
        body = item.get("text")
        if msgtype == "text" and isinstance(body, dict):
            text = str(body.get("content", ""))
        return cls(
            msgid=str(item.get("msgid", "")),
            open_kfid=str(item.get("open_kfid", "")),
            external_userid=str(item.get("external_userid", "")),
            send_time=_number(item.get("send_time")),
            origin=_number(item.get("origin")),
            msgtype=msgtype,
            text=text,
        )


def _number(value: object) -> int:
    """An integer field of a kf item: 0 when missing or not a number."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return 0


def sync_pages(
    client: WeComClient, *, token: str, open_kfid: str, cursor: str, limit: int = 1000
) -> Iterator[tuple[list[KfMessage], str]]:
    """Yield (messages, next_cursor) page by page, following has_more."""
    while True:
        payload = {"token": token, "open_kfid": open_kfid, "limit": limit}
        if cursor:
            payload["cursor"] = cursor
        page = client.post("kf/sync_msg", payload)
        messages = [KfMessage.from_item(item) for item in page.get("msg_list") or [] if isinstance(item, dict)]
        cursor = str(page.get("next_cursor") or cursor)
        yield messages, cursor
        if not page.get("has_more"):
            return


def send_text(client: WeComClient, *, open_kfid: str, external_userid: str, text: str, msgid: str) -> None:
    """Send a text reply; a msgid WeCom already accepted counts as sent (it refuses the duplicate)."""
    payload = {
        "touser": external_userid,
        "open_kfid": open_kfid,
        "msgid": msgid,
        "msgtype": "text",
        "text": {"content": text},
    }
    try:
        client.post("kf/send_msg", payload)
    except WeComError as exc:
        if exc.errcode != DUPLICATE_MSGID:
            raise


class KfSender:
    """Sends approved replies to 微信客服 customers; the msgid comes from the approval, so WeCom drops a repeat."""

    def __init__(self, client: WeComClient) -> None:
        self.client = client

    def send(self, reply: ApprovedReply) -> None:
        send_text(self.client, open_kfid=reply.open_kfid or "", external_userid=reply.customer_id, text=reply.text, msgid=reply.key)
