"""(being written)"""

from fastapi import APIRouter

from bot.api.admin.common import COOKIE_PATH

router = APIRouter(prefix=COOKIE_PATH, include_in_schema=False)
