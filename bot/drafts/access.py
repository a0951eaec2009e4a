"""Who may do what: the roles, the permission vocabulary and the one rule every surface asks.

Four roles: `staff` decide their own drafts; a `supervisor` also sees and decides the drafts of
their team (a list of staff ids) and reads that team's audit trail and dashboard; an `admin` may do
everything; an `intake` token (a trusted pipeline) only posts customer messages. Nobody but an
admin changes configuration, tokens or accounts. The API, the console, the app chat and the
sidebar all call `allows` / `check` / `may_see` / `check_may_decide` here (through
`bot.services.access`, which loads a supervisor's team), never a rule of their own.

>>> lead = Principal("wang", "supervisor", frozenset({"li"}))
>>> allows(lead, Permission.READ_AUDIT), allows(lead, Permission.CONFIGURE)
(True, False)
>>> lead.oversees("li"), lead.oversees("zhao")
(True, False)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bot.errors import NotAllowed

STAFF, SUPERVISOR, ADMIN, INTAKE = "staff", "supervisor", "admin", "intake"
ROLES = (STAFF, SUPERVISOR, ADMIN)  # people: they see and decide drafts
TOKEN_ROLES = (*ROLES, INTAKE)
ROLE_NAMES = {STAFF: "员工", SUPERVISOR: "主管", ADMIN: "管理员", INTAKE: "接入令牌"}


class Permission(StrEnum):
    SEE_DRAFTS = "see_drafts"            # list and read drafts (which ones: may_see)
    DECIDE_DRAFTS = "decide_drafts"      # approve, edit, reject, insert, correct an intent (which ones: check_may_decide)
    MANAGE_OPT_OUTS = "manage_opt_outs"  # record an opt-out, lift one (who may lift which: bot.services.opt_outs)
    READ_AUDIT = "read_audit"            # the audit trail (a supervisor: their team's)
    READ_DASHBOARD = "read_dashboard"    # the console's overview (a supervisor: their team's)
    CONFIGURE = "configure"              # intents, personas, evaluation, publishing, the learning inbox
    MANAGE_ACCESS = "manage_access"      # tokens, accounts, teams
    MANAGE_CUSTOMERS = "manage_customers"  # export and delete a customer's data
    POST_MESSAGES = "post_messages"      # POST /api/messages


_PEOPLE = frozenset({Permission.SEE_DRAFTS, Permission.DECIDE_DRAFTS, Permission.MANAGE_OPT_OUTS})
GRANTS: dict[str, frozenset[Permission]] = {
    STAFF: _PEOPLE,
    SUPERVISOR: _PEOPLE | {Permission.READ_AUDIT, Permission.READ_DASHBOARD},
    ADMIN: frozenset(Permission),
    INTAKE: frozenset({Permission.POST_MESSAGES}),
}

# Why a permission is refused, as the person reads it.
REFUSALS = {
    Permission.SEE_DRAFTS: "接入令牌只能提交客户消息（POST /api/messages），不能查看或处理草稿",
    Permission.DECIDE_DRAFTS: "接入令牌只能提交客户消息（POST /api/messages），不能查看或处理草稿",
    Permission.MANAGE_OPT_OUTS: "接入令牌只能提交客户消息（POST /api/messages），不能记录或解除退订",
    Permission.READ_AUDIT: "只有管理员和主管可以查看操作记录",
    Permission.READ_DASHBOARD: "只有管理员和主管可以查看概览",
    Permission.CONFIGURE: "只有管理员可以修改配置（意图、人设话术、评估、发布）",
    Permission.MANAGE_ACCESS: "只有管理员可以管理令牌、账号和团队",
    Permission.MANAGE_CUSTOMERS: "只有管理员可以导出或删除客户数据",
    Permission.POST_MESSAGES: "只有管理员或接入令牌（--role intake）可以提交客户消息；员工请在草稿上直接批准或修改",
}


class Assigned(Protocol):
    """What the rule reads of a draft."""

    id: int
    channel: str
    assignee: str | None


@dataclass(frozen=True)
class Principal:
    """Someone acting: their userid, role and, for a supervisor, the staff ids of their team."""

    user: str
    role: str
    team: frozenset[str] = field(default_factory=frozenset)

    @property
    def user_id(self) -> str:
        return self.user

    def oversees(self, staff_id: str | None) -> bool:
        """True when this person answers for `staff_id`'s work: themselves, their team, or anyone (admin)."""
        if self.role == ADMIN:
            return True
        if staff_id is None:
            return False
        return staff_id == self.user or (self.role == SUPERVISOR and staff_id in self.team)

    def people(self) -> frozenset[str] | None:
        """Whose actions and figures this person may read: None for everyone (admin), else themselves and their team."""
        return None if self.role == ADMIN else frozenset({self.user, *self.team})


def allows(principal: Principal, permission: Permission) -> bool:
    return permission in GRANTS.get(principal.role, frozenset())


def check(principal: Principal, permission: Permission) -> None:
    """Raise NotAllowed, with the reason in Chinese, unless the role has the permission."""
    if not allows(principal, permission):
        raise NotAllowed(REFUSALS[permission])


def may_see(draft: Assigned, principal: Principal) -> bool:
    """Unassigned drafts, one's own, a supervisor's team's; admins see all."""
    if not allows(principal, Permission.SEE_DRAFTS):
        return False
    return draft.assignee is None or draft.assignee == "" or principal.oversees(draft.assignee)


def check_may_decide(draft: Assigned, principal: Principal, approvers: Collection[str] = ()) -> None:
    """The one rule of who decides a draft, on every surface.

    Admins decide all; an assigned draft is its assignee's (and their supervisor's); an unassigned
    one is for the approvers when some are configured, else for anyone who decides drafts. Demo
    drafts reach no real customer.
    """
    check(principal, Permission.DECIDE_DRAFTS)
    if principal.role == ADMIN or draft.channel == "demo":
        return
    if draft.assignee:
        if not principal.oversees(draft.assignee):
            raise NotAllowed(f"草稿 {draft.id} 已分配给 {draft.assignee}")
    elif approvers and principal.user not in approvers:
        raise NotAllowed(f"草稿 {draft.id} 没有分配给具体员工，只有审批人可以处理")
