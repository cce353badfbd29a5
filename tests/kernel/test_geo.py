"""Unit tests of kernel.geo: distances and bounding boxes."""
import math

import pytest

from kernel import geo
from kernel.errors import ValidationFailed


def test_haversine_magdeburg_to_halle():
    # Magdeburg - Halle is about 76 km as the crow flies
    assert geo.haversine_km(52.1205, 11.6276, 51.4825, 11.9697) == pytest.approx(75.6, abs=1.5)
    assert geo.haversine_km(52.0, 11.0, 52.0, 11.0) == 0
    assert geo.haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * geo.EARTH_RADIUS_KM)


# --------------------------------------------------------------------------- bbox

def test_parse_bbox_from_text_and_list():
    assert geo.parse_bbox("10.5,50.9,13.2,53.1") == (10.5, 50.9, 13.2, 53.1)
    assert geo.parse_bbox(" 10.5 , 50.9, 13.2,53.1 ") == (10.5, 50.9, 13.2, 53.1)
    assert geo.parse_bbox([10, 50, 13, 53]) == (10.0, 50.0, 13.0, 53.0)
    assert geo.parse_bbox(("10", "50", "13", "53")) == (10.0, 50.0, 13.0, 53.0)
    assert geo.parse_bbox("11,52,11,52") == (11.0, 52.0, 11.0, 52.0)


@pytest.mark.parametrize("value, fragment", [
    ("10,50,13", "4 numbers"),
    ("10,50,13,53,1", "4 numbers"),
    ("", "4 numbers"),
    ("a,50,13,53", "not a number"),
    ([10, None, 13, 53], "not a number"),
    ([10, True, 13, 53], "not a number"),
    ("nan,50,13,53", "finite"),
    ("10,50,inf,53", "finite"),
    ("-181,50,13,53", "longitudes"),
    ("10,50,180.5,53", "longitudes"),
    ("10,-91,13,53", "latitudes"),
    ("10,50,13,90.01", "latitudes"),
    ("13,50,10,53", "greater"),
    ("10,53,13,50", "greater"),
    (None, "minLon"),
    (42, "minLon"),
])
def test_parse_bbox_rejects_bad_input(value, fragment):
    with pytest.raises(ValidationFailed) as caught:
        geo.parse_bbox(value)
    assert list(caught.value.fields) == ["bbox"]
    assert fragment in caught.value.fields["bbox"][0]
