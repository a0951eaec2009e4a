"""How the API refuses a request: one documented error shape, Chinese reasons, and ids the database can hold.

Every refusal is `{"detail": "<reason>"}` (`ErrorOut`); a request that does not fit the API (422) also
lists each problem in `errors` (`ValidationErrorOut`). `error_responses(...)` documents the statuses a
route can answer in the OpenAPI schema, with that model.

An integer in a path (`/api/drafts/{draft_id}`) is an id of a database row, so it must fit the
database's integer column: 1 to 2**31-1. A larger one would make the database driver fail (a 500);
`check_path_integers` answers 422 for it, on every route, before the route runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot.api.schemas import ErrorOut, ValidationErrorOut

MAX_ID = 2**31 - 1  # the largest value of a database INTEGER column (PostgreSQL's int4)

MEANINGS = {
    400: "请求格式不对",
    401: "没有有效的令牌或登录",
    403: "无权这样做（例如草稿归别人处理，或签名不对）",
    404: "没有这个对象（或它不归你处理）",
    408: "请求体没有及时传完，连接已关闭",
    409: "对象当前的状态不允许这样做",
    413: "请求体太大",
    422: "请求内容不符合接口要求",
    429: "尝试次数过多，请稍后再试",
    502: "企业微信接口出错",
    503: "服务还没有配置好这项功能",
}

_PLACES = {"path": "路径参数", "query": "查询参数", "body": "请求体字段", "header": "请求头", "cookie": "Cookie"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` for these refusals, each with the error model the API sends."""
    return {
        status: {"model": ValidationErrorOut if status == 422 else ErrorOut, "description": MEANINGS[status]}
        for status in statuses
    }


def _where(loc: Sequence[str | int]) -> str:
    """Where a problem is, e.g. 路径参数 draft_id, 请求体字段 text, 请求体."""
    place, *rest = loc or ("body",)
    if not rest:
        return "请求体" if place == "body" else _PLACES.get(str(place), str(place))
    return f"{_PLACES.get(str(place), str(place))} {'.'.join(str(part) for part in rest)}"


def _why(error: dict[str, Any]) -> str:
    """One problem in Chinese (a validator's own message is kept: the API's validators write Chinese)."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    reasons = {
        "missing": "缺少",
        "int_parsing": "必须是整数",
        "int_type": "必须是整数",
        "float_parsing": "必须是数字",
        "bool_parsing": "必须是 true 或 false",
        "string_type": "必须是字符串",
        "greater_than_equal": f"不能小于 {ctx.get('ge')}",
        "greater_than": f"必须大于 {ctx.get('gt')}",
        "less_than_equal": f"不能大于 {ctx.get('le')}",
        "less_than": f"必须小于 {ctx.get('lt')}",
        "string_too_short": f"至少要 {ctx.get('min_length')} 个字符",
        "string_too_long": f"最多 {ctx.get('max_length')} 个字符",
        "enum": f"只能是 {ctx.get('expected')}",
        "literal_error": f"只能是 {ctx.get('expected')}",
        "json_invalid": "不是合法的 JSON",
        "model_attributes_type": "必须是 JSON 对象",
        "dict_type": "必须是 JSON 对象",
        "list_type": "必须是列表",
    }
    if kind in reasons:
        return reasons[kind]
    message = str(error.get("msg", ""))
    return message.removeprefix("Value error, ") or "不符合要求"


def explain(errors: Sequence[dict[str, Any]]) -> str:
    """The Chinese reason of a 422, e.g. 请求不符合接口要求：路径参数 draft_id 不能大于 2147483647."""
    parts = [f"缺少{_where(e.get('loc', ()))}" if e.get("type") == "missing" else f"{_where(e.get('loc', ()))} {_why(e)}"
             for e in errors]
    return "请求不符合接口要求：" + "；".join(parts or ["格式不对"])


async def validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A 422 in the documented shape (`ValidationErrorOut`); the input is never echoed back."""
    errors = [
        {"loc": [part if isinstance(part, int) else str(part) for part in e.get("loc", ())], "type": str(e.get("type", "")),
         "msg": _why(e)}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": explain(exc.errors()), "errors": errors}, status_code=422)


async def check_path_integers(request: Request) -> None:
    """Refuse (422) an integer path parameter outside 1..MAX_ID before the route looks it up in the database."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    problems = []
    for field in dependant.path_params:
        if field.field_info.annotation is not int:
            continue
        raw = str(request.path_params.get(field.name, "")).strip()
        try:
            value = int(raw)
        except ValueError:
            continue  # not an integer at all: the route's own validation says so
        if not 1 <= value <= MAX_ID:
            kind, bound = ("greater_than_equal", {"ge": 1}) if value < 1 else ("less_than_equal", {"le": MAX_ID})
            problems.append({"loc": ("path", field.name), "type": kind, "msg": kind, "ctx": bound, "input": raw})
    if problems:
        raise RequestValidationError(problems)


def install(app: FastAPI) -> None:
    """Answer request-validation errors in the documented shape."""
    # Starlette types a handler as taking any Exception, though it calls this one only with RequestValidationError
    app.add_exception_handler(RequestValidationError, validation_failed)  # type: ignore[arg-type]
