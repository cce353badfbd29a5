"""A subscriber's preferences, and the alert criteria as rows of the ``interests`` index.

An item matches a subscriber when, for every facet the subscriber chose, the item has one of
the chosen values: themes, regions, kinds, and the grid cells a bounding box covers (the exact
box is checked after the cell matched). A subscriber who chose no criteria has the single
facet ``all``. Matching is then one indexed lookup per item (``alerts.match``), whatever the
number of subscribers.
"""
import math

DEFAULTS = {"newsletter": False, "alerts": None, "frequency": "immediately"}
CELL_DEGREES = 0.25
MAX_CELLS = 400  # a larger box is matched by its exact bounds alone (facet value "*")
ANY = "*"


def merged(current: dict, changes: dict) -> dict:
    """Stored preferences after ``changes`` (a loaded ``PreferencesSchema``, language apart)."""
    result = {**DEFAULTS, **(current or {})}
    for key in ("newsletter", "frequency"):
        if key in changes:
            result[key] = changes[key]
    if "alerts" in changes:
        result["alerts"] = _criteria(changes["alerts"])
    return result


def _criteria(alerts: dict | None) -> dict | None:
    if alerts is None:
        return None
    bbox = alerts.get("bbox")
    return {"themes": sorted(alerts.get("themes") or []), "regions": sorted(alerts.get("regions") or []),
            "kinds": sorted(alerts.get("kinds") or []), "bbox": list(bbox) if bbox else None}


def cell(lat: float, lon: float) -> str:
    return f"{math.floor(lat / CELL_DEGREES)}:{math.floor(lon / CELL_DEGREES)}"


def _cells(bbox) -> list[str]:
    min_lon, min_lat, max_lon, max_lat = bbox
    rows = range(math.floor(min_lat / CELL_DEGREES), math.floor(max_lat / CELL_DEGREES) + 1)
    columns = range(math.floor(min_lon / CELL_DEGREES), math.floor(max_lon / CELL_DEGREES) + 1)
    if len(rows) * len(columns) > MAX_CELLS:
        return [ANY]
    return [f"{row}:{column}" for row in rows for column in columns]


def index_rows(preferences: dict) -> tuple[list[tuple[str, str]], dict]:
    """(facet, value) pairs of the alert criteria, and the subscriber columns that go with them
    (``dimensions``: how many facets must match; the box bounds)."""
    criteria = preferences.get("alerts")
    columns = {"newsletter": bool(preferences.get("newsletter")),
               "frequency": preferences.get("frequency") or "immediately", "dimensions": 0,
               "min_lat": None, "min_lon": None, "max_lat": None, "max_lon": None}
    if criteria is None:
        return [], columns
    pairs = [("theme", value) for value in criteria["themes"]]
    pairs += [("region", value) for value in criteria["regions"]]
    pairs += [("kind", value) for value in criteria["kinds"]]
    if criteria["bbox"]:
        min_lon, min_lat, max_lon, max_lat = criteria["bbox"]
        columns.update(min_lat=min_lat, min_lon=min_lon, max_lat=max_lat, max_lon=max_lon)
        pairs += [("cell", value) for value in _cells(criteria["bbox"])]
    if not pairs:
        pairs = [("all", ANY)]
    columns["dimensions"] = len({facet for facet, _ in pairs})
    return pairs, columns


def item_facets(item: dict) -> list[tuple[str, str]]:
    """(facet, value) pairs a new item offers to the index."""
    pairs = [("all", ANY)]
    pairs += [("theme", value) for value in item["themes"]]
    pairs += [("region", value) for value in item["regions"]]
    if item.get("kind"):
        pairs.append(("kind", item["kind"]))
    if item.get("lat") is not None:
        pairs += [("cell", cell(item["lat"], item["lon"])), ("cell", ANY)]
    return pairs


def public_view(preferences: dict) -> dict:
    merged_view = {**DEFAULTS, **(preferences or {})}
    return {"newsletter": bool(merged_view["newsletter"]), "alerts": merged_view["alerts"],
            "frequency": merged_view["frequency"]}
