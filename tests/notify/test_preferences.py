"""Alert criteria as combination keys (pure): an item's probe keys meet a subscriber's keys
exactly when the item matches every facet the subscriber chose (checked against a plain
reading of the rule on thousands of random criteria and items)."""
import random

from services.notify import preferences
from services.notify.preferences import ANY, MAX_KEYS_WITH_CELLS, index_rows, item_keys

THEMES = ["wohnen", "alter", "arbeit", "inklusion", "kultur"]
REGIONS = ["15001", "15002", "15085", "15088"]
KINDS = ["project", "idea", "initiative", "event"]


def criteria(**alerts):
    return {"newsletter": False, "frequency": "immediately",
            "alerts": {"themes": [], "regions": [], "kinds": [], "bbox": None, **alerts}}


def item(**fields):
    return {"themes": [], "regions": [], "kind": "project", "lat": None, "lon": None, **fields}


def test_a_housing_alert_for_harz_is_one_key_with_open_facets():
    pairs, keys, columns = index_rows(criteria(themes=["wohnen"], regions=["15085"]))
    assert keys == ["wohnen|15085|*|*"] and pairs == [("theme", "wohnen"), ("region", "15085")]
    assert columns["min_lat"] is None
    assert index_rows(criteria())[1] == ["*|*|*|*"]  # everything new
    assert index_rows({"newsletter": True, "alerts": None}) == ([], [], {
        "newsletter": True, "frequency": "immediately", "min_lat": None, "min_lon": None, "max_lat": None,
        "max_lon": None})


def test_an_item_probes_each_of_its_values_or_any_per_facet():
    probes = item_keys(item(themes=["wohnen", "alter"], regions=["15085"], lat=51.8, lon=11.1))
    assert len(probes) == 3 * 2 * 2 * 2 and "wohnen|15085|*|*" in probes and "*|*|*|*" in probes
    assert f"*|*|project|{preferences.cell(51.8, 11.1)}" in probes
    assert all(key.endswith("|*") for key in item_keys(item(themes=["wohnen"])))  # no location: no cell


def test_a_box_with_too_many_combinations_is_matched_by_its_bounds_alone():
    many = criteria(themes=THEMES, regions=REGIONS, kinds=KINDS, bbox=[10.5, 50.9, 13.3, 53.1])
    _, keys, columns = index_rows(many)
    assert len(keys) == len(THEMES) * len(REGIONS) * len(KINDS) <= MAX_KEYS_WITH_CELLS
    assert all(key.endswith(f"|{ANY}") for key in keys) and columns["max_lat"] == 53.1


def plainly_matches(alerts: dict, candidate: dict) -> bool:
    if alerts["themes"] and not set(alerts["themes"]) & set(candidate["themes"]):
        return False
    if alerts["regions"] and not set(alerts["regions"]) & set(candidate["regions"]):
        return False
    if alerts["kinds"] and candidate["kind"] not in alerts["kinds"]:
        return False
    if alerts["bbox"]:
        min_lon, min_lat, max_lon, max_lat = alerts["bbox"]
        return candidate["lat"] is not None and min_lat <= candidate["lat"] <= max_lat and \
            min_lon <= candidate["lon"] <= max_lon
    return True


def matches_by_keys(preferences_: dict, candidate: dict) -> bool:
    _, keys, columns = index_rows(preferences_)
    if not set(keys) & set(item_keys(candidate)):
        return False
    if columns["min_lat"] is None:  # the exact box check of alerts.matching_subscribers
        return True
    return candidate["lat"] is not None and columns["min_lat"] <= candidate["lat"] <= columns["max_lat"] and \
        columns["min_lon"] <= candidate["lon"] <= columns["max_lon"]


def test_keys_match_exactly_what_the_rule_says():
    rng = random.Random(7)
    agreed = 0
    for _ in range(5000):
        lat, lon = rng.uniform(51.0, 52.9), rng.uniform(10.7, 13.1)
        chosen = criteria(themes=rng.sample(THEMES, rng.randint(0, 2)), regions=rng.sample(REGIONS, rng.randint(0, 2)),
                          kinds=rng.sample(KINDS, rng.randint(0, 1)),
                          bbox=[lon - 0.3, lat - 0.2, lon + 0.3, lat + 0.2] if rng.random() < 0.4 else None)
        located = rng.random() < 0.7
        candidate = item(themes=rng.sample(THEMES, rng.randint(0, 2)), regions=rng.sample(REGIONS, rng.randint(0, 1)),
                         kind=rng.choice(KINDS), lat=rng.uniform(51.0, 52.9) if located else None,
                         lon=rng.uniform(10.7, 13.1) if located else None)
        expected = plainly_matches(chosen["alerts"], candidate)
        assert matches_by_keys(chosen, candidate) == expected, (chosen, candidate)
        agreed += expected
    assert 200 < agreed < 4800  # both answers were tried often
