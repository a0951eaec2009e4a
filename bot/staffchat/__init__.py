"""The staff app chat (自建应用): draft cards, taps on their buttons, text commands, outcomes, escalation.

Frontline staff decide drafts from WeCom on their phones:

* each undecided draft reaches its assignee (or, unassigned, every approver) as a card with the
  buttons 发送 / 修改 / 不发 (`notify`, a durable job with retries; one card per draft and person);
* a tap comes back as a `template_card_event` callback and approves or rejects through
  `bot.services.delivery`, or starts an edit: the staff member's next text message is the new reply;
* text commands (1 / 发 / ok, 改 <新内容>, 0 / 不发, 列表, 全文, 取消, 帮助) do the same without a card;
* once a draft's outcome is known (`bot.services.decisions.announce`), every card of the draft is greyed out
  with the outcome (`card_outcome`, each response_code used once), with the reason for a failure;
* an urgent draft left undecided is escalated once to the admins (`escalate`).

Nothing here sends anything to a customer: approval goes through `bot.services.decisions`, and the
outbox is the only sender. Every method takes the session and `now`; the caller commits.

The modules: `notify` (the jobs: cards, outcomes, escalation), `decisions` (taps and commands),
`commands` (parsing the text commands), `texts` (what the chat says about a draft) and `chat`
(what they share: who may decide, the draft's warnings, texts to staff).
"""

from __future__ import annotations

from bot.staffchat.commands import Command, parse_command
from bot.staffchat.decisions import Decisions
from bot.staffchat.notify import Notifications
from bot.staffchat.texts import outcome_of

__all__ = ["Command", "StaffChat", "outcome_of", "parse_command"]


class StaffChat(Notifications, Decisions):
    """Cards, taps, commands, outcomes and escalation in the staff's WeCom app chat."""
