"""The AMQP JSON codec (orjson) speaks kombu's json, both ways."""
import uuid
from datetime import date, datetime, time, timezone
from decimal import Decimal

import kombu.serialization
import kombu.utils.json

import kernel  # noqa: F401  (installs the codec)
from kernel import codec

VALUE = {"text": "Grüße aus Köthen", "n": 3, "x": 1.5, "none": None, "list": [1, "a", {"b": True}],
         "at": datetime(2026, 11, 26, 7, 30, 1, 250, tzinfo=timezone.utc), "day": date(2026, 11, 26),
         "clock": time(7, 30), "amount": Decimal("12.50"), "raw": b"bytes"}


def test_kombu_json_is_the_orjson_codec_after_importing_the_kernel():
    content_type, encoding, body = kombu.serialization.dumps({"a": 1}, "json")
    assert (content_type, encoding) == ("application/json", "utf-8")
    assert isinstance(body, bytes) and body == b'{"a":1}'
    assert kombu.serialization.loads(body, content_type, encoding) == {"a": 1}


def test_typed_values_round_trip_like_kombus_own_json():
    assert codec.loads(codec.dumps(VALUE)) == VALUE
    assert kombu.utils.json.loads(codec.dumps(VALUE)) == VALUE          # an older process reads ours
    assert codec.loads(kombu.utils.json.dumps(VALUE)) == VALUE          # we read an older process's


def test_uuids_travel_as_strings_and_keys_as_text():
    some = uuid.uuid4()
    assert codec.loads(codec.dumps({"id": some, 7: "seven"})) == {"id": str(some), "7": "seven"}


def test_text_that_merely_mentions_the_marker_is_left_alone():
    value = {"note": 'a "__type__" in a sentence', "__value__": 1}
    assert codec.loads(codec.dumps(value)) == value
