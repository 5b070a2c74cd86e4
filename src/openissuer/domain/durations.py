"""The reference platform's duration object ``{years, months, weeks, days, hours, minutes, seconds}``."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Duration:
    """A calendar-aware duration; ``add_to`` applies years and months by the calendar, the rest exactly."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def add_to(self, start: datetime) -> datetime:
        """Return ``start`` moved forward by this duration (month ends clamp: Jan 31 + 1 month = Feb 28/29)."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        moved = start.replace(year=year, month=month, day=day)
        return moved + timedelta(
            weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )

    def to_dict(self) -> dict[str, int]:
        """Return the non-zero fields, as the API shows them."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def is_zero(self) -> bool:
        """Tell whether every field is zero."""
        return not self.to_dict()
