"""Who a customer is, as WeCom knows them: kf/customer/batchget (微信客服) and externalcontact/get (客户联系)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.wecom.client import WeComClient

BATCH_SIZE = 100  # kf/customer/batchget takes at most 100 external_userids per call


@dataclass(frozen=True)
class Contact:
    """A customer's names and tags: `remark` is the staff member's note for them, `nickname` their WeChat name."""

    external_userid: str
    nickname: str = ""
    remark: str = ""
    tags: tuple[str, ...] = field(default=())


def _text(value: object, limit: int = 128) -> str:
    """A string field as WeCom sent it, cut to `limit`; anything else reads as empty."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def _list(value: object) -> list:
    """A list field as WeCom sent it; anything else reads as empty."""
    return value if isinstance(value, list) else []


def batchget_kf_customers(client: WeComClient, external_userids: Sequence[str]) -> dict[str, Contact]:
    """The nicknames of 微信客服 customers, asked 100 at a time; ids WeCom does not know are left out.

    Request ``{"external_userid_list": [...], "need_enter_session_context": 0}``; answer
    ``customer_list[{external_userid, nickname, avatar, gender, unionid}]`` and ``invalid_external_userid``.
    Raises WeComError when a call fails.
    """
    ids = list(dict.fromkeys(i for i in external_userids if i))
    found: dict[str, Contact] = {}
    for start in range(0, len(ids), BATCH_SIZE):
        answer = client.post("kf/customer/batchget", {
            "external_userid_list": ids[start:start + BATCH_SIZE], "need_enter_session_context": 0,
        })
        for item in _list(answer.get("customer_list")):
            if isinstance(item, dict) and _text(item.get("external_userid")):
                userid = _text(item.get("external_userid"))
                found[userid] = Contact(external_userid=userid, nickname=_text(item.get("nickname")))
    return found


def get_external_contact(client: WeComClient, external_userid: str, *, staff_id: str | None) -> Contact:
    """A staff member's own customer (externalcontact/get): their name, and that staff member's remark and corp tags.

    ``external_contact{name, ...}`` gives the name; of ``follow_user[{userid, remark, tags[{tag_name}]}]``
    only the entry of `staff_id` counts (another colleague's remark is theirs). Raises WeComError.
    """
    answer = client.get("externalcontact/get", {"external_userid": external_userid})
    contact = answer.get("external_contact")
    name = _text(contact.get("name")) if isinstance(contact, dict) else ""
    remark = ""
    tags: tuple[str, ...] = ()
    for follower in _list(answer.get("follow_user")):
        if isinstance(follower, dict) and staff_id and follower.get("userid") == staff_id:
            remark = _text(follower.get("remark"))
            tags = tuple(dict.fromkeys(
                _text(t.get("tag_name"), 64) for t in _list(follower.get("tags")) if isinstance(t, dict) and _text(t.get("tag_name"))
            ))
    return Contact(external_userid=external_userid, nickname=name, remark=remark, tags=tags)
