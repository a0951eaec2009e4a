"""(being written)"""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot.api.admin.common import COOKIE_PATH, AdminDep, page
from bot.api.deps import RuntimeDep, SessionDep

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)


@router.get("/intents", response_class=HTMLResponse)
def intents_page(request: Request, runtime: RuntimeDep, session: SessionDep, user: AdminDep) -> HTMLResponse:
    return page(request, runtime, session, user, "intents.html")
