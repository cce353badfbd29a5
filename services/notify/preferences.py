"""A subscriber's preferences, and the alert criteria as rows of two indexes.

An item matches a subscriber when, for every facet the subscriber chose, the item has one of
the chosen values: themes, regions, kinds, and the grid cells a bounding box covers (the exact
box is checked after the cell matched).

A saved search (``q``) is one more condition, checked by the search service's percolate RPC
for the subscribers the keys found.

``alert_keys`` (matching): one key per combination the subscriber accepts, ``theme|region|kind|cell``
with ``*`` for a facet left open ("wohnen|15088|*|*": housing in Harz, any kind, anywhere in
it). An item probes the few keys it could satisfy (each of its values or ``*``, per facet), so
the lookup reads only the rows of subscribers it matches, not every subscriber of a popular
theme. ``interests`` (segments of a newsletter): the plain (facet, value) pairs.
"""
import itertools
import math

DEFAULTS = {"newsletter": False, "alerts": None, "frequency": "immediately"}
CELL_DEGREES = 0.25
MAX_CELLS = 400  # a larger box is matched by its exact bounds alone (facet value "*")
# more combinations than this with the box's cells: the box is matched by its exact bounds alone
MAX_KEYS_WITH_CELLS = 1000
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
    query = " ".join((alerts.get("q") or "").split())
    return {"themes": sorted(alerts.get("themes") or []), "regions": sorted(alerts.get("regions") or []),
            "kinds": sorted(alerts.get("kinds") or []), "bbox": list(bbox) if bbox else None, "q": query or None}


def cell(lat: float, lon: float) -> str:
    return f"{math.floor(lat / CELL_DEGREES)}:{math.floor(lon / CELL_DEGREES)}"


def _cells(bbox) -> list[str]:
    min_lon, min_lat, max_lon, max_lat = bbox
    rows = range(math.floor(min_lat / CELL_DEGREES), math.floor(max_lat / CELL_DEGREES) + 1)
    columns = range(math.floor(min_lon / CELL_DEGREES), math.floor(max_lon / CELL_DEGREES) + 1)
    if len(rows) * len(columns) > MAX_CELLS:
        return [ANY]
    return [f"{row}:{column}" for row in rows for column in columns]


def _key(theme: str, region: str, kind: str, grid_cell: str) -> str:
    return f"{theme}|{region}|{kind}|{grid_cell}"


def index_rows(preferences: dict) -> tuple[list[tuple[str, str]], list[str], dict]:
    """The (facet, value) pairs of the alert criteria, their combination keys, and the subscriber
    columns that go with them (the box bounds, for the exact check)."""
    criteria = preferences.get("alerts")
    columns = {"newsletter": bool(preferences.get("newsletter")),
               "frequency": preferences.get("frequency") or "immediately",
               "min_lat": None, "min_lon": None, "max_lat": None, "max_lon": None}
    if criteria is None:
        return [], [], columns
    themes, regions, kinds = criteria["themes"] or [ANY], criteria["regions"] or [ANY], criteria["kinds"] or [ANY]
    pairs = [("theme", value) for value in criteria["themes"]]
    pairs += [("region", value) for value in criteria["regions"]]
    pairs += [("kind", value) for value in criteria["kinds"]]
    cells = [ANY]
    if criteria["bbox"]:
        min_lon, min_lat, max_lon, max_lat = criteria["bbox"]
        columns.update(min_lat=min_lat, min_lon=min_lon, max_lat=max_lat, max_lon=max_lon)
        cells = _cells(criteria["bbox"])
        if len(themes) * len(regions) * len(kinds) * len(cells) > MAX_KEYS_WITH_CELLS:
            cells = [ANY]
        pairs += [("cell", value) for value in cells]
    keys = [_key(*combination) for combination in itertools.product(themes, regions, kinds, cells)]
    return pairs, keys, columns


KEY_COLUMNS = ("frequency", "min_lat", "min_lon", "max_lat", "max_lon")


def alert_key_rows(subscriber_id: str, preferences: dict, keys: list[str], columns: dict) -> list[dict]:
    """The ``alert_keys`` rows of a confirmed subscriber (``keys`` and ``columns`` from
    ``index_rows``): each key with what matching needs of the subscriber (frequency, the exact
    box, the saved search)."""
    shared = {name: columns[name] for name in KEY_COLUMNS}
    query = (preferences.get("alerts") or {}).get("q")
    return [{"key": key, "subscriber_id": subscriber_id, "query": query, **shared} for key in keys]


def item_keys(item: dict) -> list[str]:
    """The combination keys a new item satisfies: per facet, each of its values or ``*``."""
    themes = [*item["themes"], ANY]
    regions = [*item["regions"], ANY]
    kinds = [item["kind"], ANY] if item.get("kind") else [ANY]
    cells = [cell(item["lat"], item["lon"]), ANY] if item.get("lat") is not None else [ANY]
    return [_key(*combination) for combination in itertools.product(themes, regions, kinds, cells)]


def public_view(preferences: dict) -> dict:
    merged_view = {**DEFAULTS, **(preferences or {})}
    return {"newsletter": bool(merged_view["newsletter"]), "alerts": merged_view["alerts"],
            "frequency": merged_view["frequency"]}
