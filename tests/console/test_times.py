"""Times for staff and admins: the brand's time zone, named; and the console pages that show them."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.timefmt import local_time, zone_label
from tests.console.conftest import Admin

WINTER = datetime(2026, 12, 4, 10, 2, tzinfo=timezone.utc)
SUMMER = datetime(2026, 7, 4, 10, 2, tzinfo=timezone.utc)


def test_a_zone_is_named_or_shown_by_its_offset_at_that_moment() -> None:
    assert zone_label("Asia/Shanghai") == "北京时间"
    assert zone_label("UTC") == "UTC"
    assert zone_label("Asia/Tokyo", WINTER) == "UTC+9"
    assert zone_label("America/St_Johns", WINTER) == "UTC-3:30"
    assert zone_label("America/St_Johns", SUMMER) == "UTC-2:30"
    assert zone_label("Asia/Kolkata", WINTER) == "UTC+5:30"


def test_a_stored_utc_moment_reads_as_the_brands_wall_clock_with_the_zone() -> None:
    assert local_time(WINTER, "Asia/Shanghai") == "2026-12-04 18:02（北京时间）"
    assert local_time(WINTER.replace(tzinfo=None), "Asia/Shanghai") == "2026-12-04 18:02（北京时间）"  # naive is UTC
    assert local_time(WINTER, "Europe/Berlin", "%m-%d %H:%M") == "12-04 11:02（UTC+1）"


def test_the_console_says_which_zone_its_times_are_in(admin: Admin) -> None:
    versions = admin.client.get("/admin/versions").text
    audit = admin.client.get("/admin/audit").text
    dashboard = admin.client.get("/admin").text
    assert "（北京时间）" in versions and "（北京时间）" in audit and "（北京时间）" in dashboard
