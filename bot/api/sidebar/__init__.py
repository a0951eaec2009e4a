"""The chat sidebar (聊天工具栏): drafts for the customer of the open 1:1 chat, inserted by the staff member.

Staff's own one-to-one chats (channel "archive") reach draftbot through `POST /api/messages`; WeCom
pushes nothing for them and draftbot cannot send into them. The staff member opens this page from
the chat's toolbar; it finds the customer (JS-SDK `getCurExternalContact`), lists their drafts and
inserts the chosen text into the chat with `sendChatMessage`, which WeCom runs in the staff
member's own client.

The modules: `auth` (signed cookies, the session and its CSRF token), `pages` (OAuth sign-in, the
page, its assets), `drafts` (the JSON API, and the order of approval and recording that keeps
"nothing unapproved reaches a customer") and `jsapi` (the JS-SDK signature).
"""

from __future__ import annotations

from fastapi import APIRouter

from bot.api.sidebar import drafts, jsapi, pages
from bot.api.sidebar.jsapi import jsapi_signature
from bot.api.sidebar.pages import SDK_SCRIPTS

__all__ = ["SDK_SCRIPTS", "jsapi_signature", "router"]

router = APIRouter()
router.include_router(pages.router)
router.include_router(drafts.router)
router.include_router(jsapi.router)
