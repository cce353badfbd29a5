"""The digest schedule's settings are checked when notify starts, not at the first alert."""
from datetime import datetime, timezone

import pytest

from services.notify.alerts import Schedule


@pytest.mark.parametrize("settings, message", [
    ({"timezone": "Europe/Magdeburg"}, "DIGEST_TIMEZONE 'Europe/Magdeburg' is no IANA time zone"),
    ({"timezone": "../etc/passwd"}, "is no IANA time zone"),
    ({"digest_hour": 24}, "DIGEST_HOUR must be 0 to 23, not 24"),
])
def test_a_wrong_digest_setting_refuses_to_start(settings, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**settings)


def test_a_daily_digest_is_due_at_the_digest_hour_of_its_time_zone():
    schedule = Schedule(digest_hour=7, timezone="Europe/Berlin")
    due = schedule.due("daily", datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc))
    assert due == datetime(2026, 12, 5, 6, 0, tzinfo=timezone.utc)   # 07:00 in Berlin (CET)
