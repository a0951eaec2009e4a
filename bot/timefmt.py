"""Times as staff and admins read them: in the brand's time zone (DRAFTBOT_TIMEZONE), saying which."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

# Zones people call by a name; any other is shown by its offset from UTC.
ZONE_NAMES = {
    "Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "Asia/Harbin": "北京时间", "PRC": "北京时间",
    "Asia/Hong_Kong": "香港时间", "Asia/Macau": "澳门时间", "Asia/Taipei": "台北时间", "UTC": "UTC", "Etc/UTC": "UTC",
}


def zone_label(zone: str, at: datetime | None = None) -> str:
    """'北京时间' for a zone with a common name, else its offset at `at` (default now), e.g. 'UTC+9' or 'UTC-3:30'."""
    if zone in ZONE_NAMES:
        return ZONE_NAMES[zone]
    offset = (at or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).utcoffset()
    minutes = round(offset.total_seconds() / 60) if offset is not None else 0
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")


def local_time(moment: datetime, zone: str, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """`moment` in the brand's zone, with the zone named: '2026-12-04 18:02（北京时间）'; a naive moment is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"{moment.astimezone(ZoneInfo(zone)).strftime(pattern)}（{zone_label(zone, moment)}）"
