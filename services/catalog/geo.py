"""Geography of the catalog: the state outline, regions, map clustering (distances and
bounding boxes are in ``kernel/geo.py``).

The outline of Saxony-Anhalt (``STATE_OUTLINE``) is an **approximation** drawn by hand
from well-known places on both sides of the border (~95 vertices). Checked against a
public simplified outline of the German states it is off by 1-3 km along most of the
border and by at most ~6 km (where the border winds, e.g. north of Bitterfeld and in
the western Altmark). That is enough to catch a point typed with swapped or wrong
coordinates, but a place within a few kilometres of the state border may be judged wrongly.
To use the official boundary instead, download the state polygon from the BKG open data
(VG250, "Verwaltungsgebiete 1:250 000", layer ``VG250_LAN``, ``AGS = 15``; licence dl-de/by-2-0),
convert it to WGS84 lon/lat (e.g. ``ogr2ogr -t_srs EPSG:4326 -f GeoJSON``), simplify it
(``-simplify 0.001`` keeps it within ~100 m) and replace ``STATE_OUTLINE`` with its outer
ring; ``in_state`` and the tests need no other change.

All coordinates here follow GeoJSON (RFC 7946): positions are ``[longitude, latitude]``,
bounding boxes ``(minLon, minLat, maxLon, maxLat)``. Function arguments named
``lat, lon`` take latitude first, as people say them.
"""
import math
from collections import Counter

from kernel.errors import ValidationFailed
from kernel.geo import finite, haversine_km, in_bbox, parse_bbox

# (minLon, minLat, maxLon, maxLat) of Saxony-Anhalt
STATE_BBOX = (10.56, 50.93, 13.19, 53.05)

# Outer ring of the state, (lon, lat) pairs, clockwise from the northern tip on the Elbe
# near Aulosen. Comments name a place on the far side of the border segment.
STATE_OUTLINE = (
    (11.60, 53.035),  # northern tip (Aland mouth, across: Schnackenburg NI)
    (11.66, 53.02),   # Wahrenberg on the Elbe
    (11.735, 52.985),  # across the Elbe from Wittenberge BB
    (11.85, 52.925),  # across: Rühstädt BB
    (11.95, 52.895),  # Havel mouth near Gnevsdorf BB
    (12.06, 52.875),  # north of Havelberg (across: Glöwen BB)
    (12.17, 52.855),
    (12.24, 52.80),   # across: Kümmernitz BB
    (12.25, 52.72),
    (12.28, 52.65),   # west of Rathenow BB
    (12.25, 52.56),   # west of Milow BB
    (12.22, 52.50),
    (12.28, 52.43),   # east of Genthin, west of Wusterwitz BB
    (12.26, 52.35),
    (12.24, 52.28),   # west of Ziesar BB
    (12.27, 52.20),
    (12.33, 52.12),   # west of Görzke BB
    (12.42, 52.05),   # south of Wiesenburg BB
    (12.55, 52.01),
    (12.68, 52.00),   # south of Niemegk BB
    (12.80, 51.98),   # south of Treuenbrietzen BB
    (12.93, 51.93),
    (13.06, 51.86),
    (13.16, 51.80),   # across: Schönewalde BB
    (13.19, 51.745),  # eastern tip near Holzdorf
    (13.13, 51.69),   # across: Herzberg BB
    (13.05, 51.655),
    (12.95, 51.635),  # between Prettin and Dommitzsch SN
    (12.84, 51.63),
    (12.72, 51.62),
    (12.60, 51.625),  # north of Bad Düben SN
    (12.47, 51.60),
    (12.38, 51.56),   # north of Delitzsch SN
    (12.29, 51.52),
    (12.22, 51.45),   # west of Schkeuditz SN
    (12.19, 51.38),
    (12.20, 51.32),   # west of Markranstädt SN
    (12.18, 51.26),
    (12.22, 51.19),   # west of Pegau SN
    (12.26, 51.12),
    (12.27, 51.07),   # west of Meuselwitz TH
    (12.22, 51.01),
    (12.16, 50.96),
    (12.07, 50.935),  # southern tip south of Zeitz (across: Gera area TH)
    (11.99, 50.955),
    (11.94, 51.00),   # east of Eisenberg TH
    (11.85, 51.05),   # across: Schkölen TH
    (11.75, 51.085),  # south of Bad Kösen (across: Camburg TH)
    (11.65, 51.10),   # across: Bad Sulza TH
    (11.53, 51.115),  # south of Eckartsberga
    (11.48, 51.17),   # across: Rastenberg TH
    (11.40, 51.22),
    (11.40, 51.25),   # across: Wiehe TH
    (11.48, 51.295),
    (11.42, 51.34),   # across: Roßleben TH
    (11.33, 51.39),   # north of Artern TH
    (11.22, 51.40),
    (11.10, 51.42),   # north of Bad Frankenhausen TH (Kyffhäuser)
    (10.98, 51.44),   # across: Heringen TH
    (10.92, 51.50),   # east of Nordhausen TH
    (10.88, 51.57),   # across: Ilfeld/Neustadt TH
    (10.78, 51.61),
    (10.69, 51.645),  # across: Zorge / Hohegeiß NI
    (10.65, 51.70),
    (10.62, 51.74),   # across: Braunlage NI
    (10.58, 51.79),   # west of the Brocken (across: Torfhaus NI)
    (10.56, 51.84),   # Ecker valley
    (10.60, 51.89),   # across: Bad Harzburg NI
    (10.61, 51.96),
    (10.65, 52.01),   # across: Hornburg NI
    (10.78, 52.045),
    (10.92, 52.065),  # across: Jerxheim NI
    (11.00, 52.10),
    (11.02, 52.15),   # across: Schöningen NI
    (11.05, 52.21),   # across: Helmstedt NI
    (11.03, 52.28),
    (11.03, 52.35),   # across: Grasleben NI
    (10.96, 52.42),   # west of Oebisfelde (across: Velpke, Wolfsburg NI)
    (10.94, 52.47),
    (11.00, 52.495),
    (10.95, 52.58),   # Böckwitz/Zicherie
    (10.97, 52.62),   # across: Brome NI
    (10.88, 52.655),
    (10.78, 52.70),   # across: Wittingen NI
    (10.77, 52.78),
    (10.85, 52.84),   # across: Schnega NI
    (10.95, 52.86),   # across: Bergen an der Dumme NI
    (11.06, 52.895),
    (11.15, 52.905),  # north of Salzwedel (across: Wustrow NI)
    (11.235, 52.89),
    (11.30, 52.875),  # across: Lüchow NI
    (11.41, 52.90),
    (11.48, 52.93),   # north of Arendsee lake (across: Gartow NI)
    (11.51, 52.94),
    (11.535, 53.005),
)

# Map clustering: below this zoom points are grouped into grid cells.
CLUSTER_MAX_ZOOM = 12
# Grid cells per web-map tile width: cell width = 360 / 2**zoom / CELLS_PER_TILE degrees.
# Zoom 7 gives cells of ~0.7° of longitude (~48 x 48 km), at most about 30 cells over
# the state (~250 km across); zoom 10 cells of ~6 x 6 km, so mostly only points in the
# same town still share a cell.
CELLS_PER_TILE = 4
# Cells are square on screen in Saxony-Anhalt: in web Mercator a degree of latitude at
# 52° N looks 1/cos(52°) times as tall as a degree of longitude.
CELL_LAT_FACTOR = math.cos(math.radians(52.0))
MAX_ZOOM = 20



# --------------------------------------------------------------------------- points

def point_in_polygon(lon: float, lat: float, ring) -> bool:
    """Ray casting (even-odd rule) on a ring of (lon, lat) vertices."""
    inside = False
    count = len(ring)
    for index in range(count):
        lon1, lat1 = ring[index]
        lon2, lat2 = ring[(index + 1) % count]
        if (lat1 > lat) != (lat2 > lat):
            crossing_lon = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < crossing_lon:
                inside = not inside
    return inside



def in_state(lat: float, lon: float) -> bool:
    """Whether the point lies in Saxony-Anhalt (approximate outline, see module doc)."""
    if not (finite(lat) and finite(lon)) or not in_bbox(lat, lon, STATE_BBOX):
        return False
    return point_in_polygon(lon, lat, STATE_OUTLINE)



def region_for_point(lat: float, lon: float, regions) -> str | None:
    """AGS of the region whose centre is nearest to the point (``None`` without regions).

    ``regions`` are dicts with ``ags``, ``lat``, ``lon`` (the centre). Nearest centre is an
    approximation: near a district border, and for a district-free city enclosed by a large
    district (Halle in the Saalekreis), a point can land in the neighbour. Replace it with a
    point-in-polygon test on official district boundaries (VG250 ``VG250_KRS``) when exact
    assignment matters. Ties go to the smaller AGS, so the answer is deterministic.
    """
    best = None
    for region in regions:
        if region.get("lat") is None or region.get("lon") is None:
            continue
        distance = haversine_km(lat, lon, region["lat"], region["lon"])
        key = (distance, str(region["ags"]))
        if best is None or key < best[0]:
            best = (key, str(region["ags"]))
    return best[1] if best else None


# --------------------------------------------------------------------------- clustering

def cell_size(zoom: int) -> tuple[float, float]:
    """(width, height) of a grid cell in degrees at ``zoom``."""
    width = 360.0 / (2 ** zoom) / CELLS_PER_TILE
    return width, width * CELL_LAT_FACTOR


def cell_of(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    """Grid cell (row, column) of a point; the grid is anchored at (-180, -90), so a
    cell does not move when the map is panned."""
    width, height = cell_size(zoom)
    return math.floor((lat + 90.0) / height), math.floor((lon + 180.0) / width)


def expansion_zoom(points, zoom: int) -> int:
    """The first zoom above ``zoom`` at which the points no longer share one cell."""
    for next_zoom in range(zoom + 1, CLUSTER_MAX_ZOOM):
        if len({cell_of(p["lat"], p["lon"], next_zoom) for p in points}) > 1:
            return next_zoom
    return CLUSTER_MAX_ZOOM


def point_feature(point: dict) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [point["lon"], point["lat"]]},
        "properties": {
            "id": point.get("id"),
            "slug": point.get("slug"),   # the entry's page: /entries/{slug}
            "kind": point.get("kind"),
            "title": point.get("title"),
            "themes": list(point.get("themes") or []),
            "region": point.get("region"),
        },
    }


def cluster_feature(points: list, zoom: int, cell: tuple[int, int]) -> dict:
    lon = sum(p["lon"] for p in points) / len(points)
    lat = sum(p["lat"] for p in points) / len(points)
    kinds = Counter(p.get("kind") for p in points)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": {
            "cluster": True,
            "cluster_id": f"{zoom}/{cell[0]}/{cell[1]}",
            "point_count": len(points),
            "kinds": {kind: kinds[kind] for kind in sorted(kinds, key=str)},
            "expansion_zoom": expansion_zoom(points, zoom),
        },
    }


def _check_zoom(zoom) -> int:
    if isinstance(zoom, bool) or not isinstance(zoom, int) or not 0 <= zoom <= MAX_ZOOM:
        raise ValidationFailed("invalid zoom", {"zoom": [f"must be a whole number from 0 to {MAX_ZOOM}"]})
    return zoom


def cluster(points, bbox, zoom: int) -> list[dict]:
    """GeoJSON Features for the points inside ``bbox`` at map ``zoom``.

    At ``CLUSTER_MAX_ZOOM`` and above every point is its own Feature. Below, points are
    grouped by grid cell; a cell with one point gives a point Feature, a cell with more a
    cluster Feature at the centroid of its points (inside the bbox, since all its points
    are). Points without coordinates are skipped. Order: by cell (south to north, west to
    east), individual points by id.
    """
    bbox = parse_bbox(bbox)
    zoom = _check_zoom(zoom)
    visible = [p for p in points
               if finite(p.get("lat")) and finite(p.get("lon")) and in_bbox(p["lat"], p["lon"], bbox)]
    if zoom >= CLUSTER_MAX_ZOOM:
        return [point_feature(p) for p in sorted(visible, key=_point_order)]
    cells: dict[tuple[int, int], list] = {}
    for point in visible:
        cells.setdefault(cell_of(point["lat"], point["lon"], zoom), []).append(point)
    features = []
    for cell in sorted(cells):
        members = cells[cell]
        if len(members) == 1:
            features.append(point_feature(members[0]))
        else:
            features.append(cluster_feature(sorted(members, key=_point_order), zoom, cell))
    return features


def _point_order(point: dict):
    return (str(point.get("id")), point["lat"], point["lon"])


def feature_collection(features: list, bbox) -> dict:
    return {"type": "FeatureCollection", "bbox": list(parse_bbox(bbox)), "features": features}
