"""Unit tests of services.catalog.geo: state outline, regions, clustering."""

import pytest

from kernel.errors import ValidationFailed
from services.catalog import geo

# (lat, lon) of town centres
INSIDE = {
    "Magdeburg": (52.1205, 11.6276),
    "Halle (Saale)": (51.4825, 11.9697),
    "Dessau": (51.8351, 12.2460),
    "Lutherstadt Wittenberg": (51.8671, 12.6484),
    "Salzwedel": (52.8500, 11.1500),
    "Arendsee": (52.8833, 11.4833),
    "Havelberg": (52.8300, 12.0750),
    "Stendal": (52.6050, 11.8594),
    "Genthin": (52.4070, 12.1590),
    "Wernigerode": (51.8350, 10.7850),
    "Quedlinburg": (51.7900, 11.1500),
    "Sangerhausen": (51.4720, 11.2970),
    "Naumburg": (51.1500, 11.8100),
    "Zeitz": (51.0480, 12.1380),
    "Bitterfeld": (51.6230, 12.3250),
    "Köthen": (51.7510, 11.9700),
    "Bernburg": (51.7940, 11.7400),
    "Haldensleben": (52.2900, 11.4100),
    "Oschersleben": (52.0300, 11.2300),
    "Jessen": (51.7950, 12.9600),
}
OUTSIDE = {
    "Berlin": (52.5200, 13.4050),
    "Potsdam": (52.3906, 13.0645),
    "Leipzig": (51.3397, 12.3731),
    "Erfurt": (50.9848, 11.0299),
    "Göttingen": (51.5413, 9.9158),
    "Hannover": (52.3759, 9.7320),
    "Braunschweig": (52.2689, 10.5268),
    "Wolfsburg": (52.4227, 10.7865),
    "Nordhausen": (51.5050, 10.7910),
    "Torgau": (51.5600, 13.0050),
    "Brandenburg an der Havel": (52.4125, 12.5316),
    "Lüneburg": (53.2464, 10.4115),
    "Wittenberge": (53.0000, 11.7500),
}


@pytest.mark.parametrize("town", sorted(INSIDE))
def test_towns_of_saxony_anhalt_are_inside(town):
    assert geo.in_state(*INSIDE[town])


@pytest.mark.parametrize("town", sorted(OUTSIDE))
def test_towns_of_neighbouring_states_are_outside(town):
    assert not geo.in_state(*OUTSIDE[town])


def test_outline_is_a_simple_ring_inside_the_state_bbox():
    ring = geo.STATE_OUTLINE
    assert 40 <= len(ring) <= 100
    assert len(set(ring)) == len(ring)
    min_lon, min_lat, max_lon, max_lat = geo.STATE_BBOX
    assert all(min_lon <= lon <= max_lon and min_lat <= lat <= max_lat for lon, lat in ring)
    # the ring touches all four sides of the bbox (to within ~2 km)
    assert min(lon for lon, _ in ring) == pytest.approx(min_lon, abs=0.03)
    assert max(lon for lon, _ in ring) == pytest.approx(max_lon, abs=0.03)
    assert min(lat for _, lat in ring) == pytest.approx(min_lat, abs=0.02)
    assert max(lat for _, lat in ring) == pytest.approx(max_lat, abs=0.02)
    # no two edges cross (a self-intersecting ring makes ray casting lie)
    edges = [(ring[i], ring[(i + 1) % len(ring)]) for i in range(len(ring))]
    for i, (a, b) in enumerate(edges):
        for j, (c, d) in enumerate(edges):
            if j > i + 1 and not (i == 0 and j == len(edges) - 1):
                assert not _segments_cross(a, b, c, d), (i, j)


def _segments_cross(a, b, c, d):
    def orient(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    return (orient(a, b, c) * orient(a, b, d) < 0) and (orient(c, d, a) * orient(c, d, b) < 0)


@pytest.mark.parametrize("lat, lon", [
    (float("nan"), 11.6), (52.1, float("inf")), (0.0, 0.0), (-52.12, 11.63), (11.6276, 52.1205),
])
def test_impossible_or_swapped_points_are_outside(lat, lon):
    assert not geo.in_state(lat, lon)


def test_point_in_polygon_on_a_square():
    square = ((0, 0), (10, 0), (10, 10), (0, 10))
    assert geo.point_in_polygon(5, 5, square)
    assert not geo.point_in_polygon(15, 5, square)
    assert not geo.point_in_polygon(-1, 5, square)


# --------------------------------------------------------------------------- regions

REGIONS = [
    {"ags": "15003", "name": "Magdeburg", "lat": 52.1205, "lon": 11.6276},
    {"ags": "15002", "name": "Halle (Saale)", "lat": 51.4825, "lon": 11.9697},
    {"ags": "15085", "name": "Harz", "lat": 51.79, "lon": 10.96},
    {"ags": "15090", "name": "Stendal", "lat": 52.60, "lon": 11.86},
    {"ags": "15099", "name": "no centre", "lat": None, "lon": None},
]


def test_region_for_point_is_the_nearest_centre():
    assert geo.region_for_point(51.835, 10.785, REGIONS) == "15085"  # Wernigerode
    assert geo.region_for_point(52.83, 12.075, REGIONS) == "15090"  # Havelberg
    assert geo.region_for_point(52.13, 11.60, REGIONS) == "15003"
    assert geo.region_for_point(51.50, 11.95, REGIONS) == "15002"


def test_region_for_point_without_regions():
    assert geo.region_for_point(52.0, 11.0, []) is None
    assert geo.region_for_point(52.0, 11.0, [{"ags": "15099", "lat": None, "lon": None}]) is None


def test_region_ties_go_to_the_smaller_ags():
    regions = [{"ags": "15090", "lat": 52.0, "lon": 11.0}, {"ags": "15082", "lat": 52.0, "lon": 11.0}]
    assert geo.region_for_point(52.0, 11.0, regions) == "15082"


# --------------------------------------------------------------------------- clustering

STATE = geo.STATE_BBOX


def _point(number, lat, lon, kind="project"):
    return {"id": f"e{number:03d}", "lat": lat, "lon": lon, "kind": kind,
            "title": f"Entry {number}", "themes": ["wohnen"], "region": "15003"}


def _spread_points():
    """A deterministic pseudo-random spread of 300 points over the state's bbox, plus
    a crowd of 20 in Magdeburg and 5 at one address in Halle."""
    points = []
    seed = 12345
    for number in range(300):
        seed = (seed * 1103515245 + 12345) % 2 ** 31
        lon = 10.6 + 2.55 * (seed % 10000) / 10000
        seed = (seed * 1103515245 + 12345) % 2 ** 31
        lat = 50.95 + 2.05 * (seed % 10000) / 10000
        points.append(_point(number, lat, lon, kind=("project", "idea", "event")[number % 3]))
    for number in range(20):
        points.append(_point(300 + number, 52.12 + number * 0.001, 11.62 + number * 0.001))
    for number in range(5):
        points.append(_point(400 + number, 51.4825, 11.9697, kind="initiative"))
    return points


def _assert_rfc7946_features(features, bbox):
    min_lon, min_lat, max_lon, max_lat = bbox
    for feature in features:
        assert set(feature) == {"type", "geometry", "properties"}
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert isinstance(lon, float) and isinstance(lat, float)
        assert min_lon <= lon <= max_lon and min_lat <= lat <= max_lat
        assert isinstance(feature["properties"], dict)


def test_cluster_at_high_zoom_gives_every_point_with_longitude_first():
    points = _spread_points()
    features = geo.cluster(points, STATE, geo.CLUSTER_MAX_ZOOM)
    assert len(features) == len([p for p in points if geo.in_bbox(p["lat"], p["lon"], STATE)])
    _assert_rfc7946_features(features, STATE)
    by_id = {p["id"]: p for p in points}
    for feature in features:
        props = feature["properties"]
        assert set(props) == {"id", "slug", "kind", "title", "themes", "region"}   # slug: the entry's page
        point = by_id[props["id"]]
        assert feature["geometry"]["coordinates"] == [point["lon"], point["lat"]]
    assert [f["properties"]["id"] for f in features] == sorted(f["properties"]["id"] for f in features)


def test_cluster_zoomed_out_gives_a_few_dozen_features_that_count_every_point():
    points = _spread_points()
    features = geo.cluster(points, STATE, 7)
    assert 5 <= len(features) <= 40
    _assert_rfc7946_features(features, STATE)
    counted = sum(f["properties"].get("point_count", 1) for f in features)
    assert counted == len(points)
    clusters = [f for f in features if f["properties"].get("cluster")]
    assert clusters
    for feature in clusters:
        props = feature["properties"]
        assert set(props) == {"cluster", "cluster_id", "point_count", "kinds", "expansion_zoom"}
        assert sum(props["kinds"].values()) == props["point_count"] >= 2
        assert 7 < props["expansion_zoom"] <= geo.CLUSTER_MAX_ZOOM


def test_zoom_10_shows_mostly_single_points():
    points = _spread_points()
    features = geo.cluster(points, STATE, 10)
    singles = [f for f in features if not f["properties"].get("cluster")]
    assert len(singles) > 0.7 * len(features)
    # the five entries at one address in Halle stay together until the last cluster zoom
    halle = [f for f in features if f["properties"].get("kinds") == {"initiative": 5}]
    assert len(halle) == 1
    assert halle[0]["properties"]["expansion_zoom"] == geo.CLUSTER_MAX_ZOOM
    assert halle[0]["geometry"]["coordinates"] == [11.9697, 51.4825]


def test_cluster_count_falls_as_the_map_zooms_out():
    points = _spread_points()
    counts = [len(geo.cluster(points, STATE, zoom)) for zoom in range(5, 13)]
    assert counts == sorted(counts)
    assert counts[0] < counts[-1] == len(points)


def test_cluster_sits_at_the_centroid_of_its_points():
    points = [_point(1, 52.10, 11.60), _point(2, 52.12, 11.62), _point(3, 52.14, 11.64, kind="idea")]
    [feature] = geo.cluster(points, STATE, 6)
    assert feature["geometry"]["coordinates"] == pytest.approx([11.62, 52.12])
    assert feature["properties"]["kinds"] == {"idea": 1, "project": 2}
    assert feature["properties"]["point_count"] == 3


def test_expansion_zoom_splits_the_cluster():
    points = [_point(1, 52.10, 11.60), _point(2, 52.16, 11.68)]
    [feature] = geo.cluster(points, STATE, 6)
    split_at = feature["properties"]["expansion_zoom"]
    assert len(geo.cluster(points, STATE, split_at)) == 2
    assert len(geo.cluster(points, STATE, split_at - 1)) == 1


def test_cluster_drops_points_outside_the_bbox_or_without_coordinates():
    bbox = (11.5, 52.0, 11.7, 52.2)
    points = [_point(1, 52.1, 11.6), _point(2, 51.48, 11.97), _point(3, 52.1, 11.6),
              {"id": "e004", "lat": None, "lon": None, "kind": "idea", "title": "no place", "themes": [], "region": None}]
    features = geo.cluster(points, bbox, 14)
    assert [f["properties"]["id"] for f in features] == ["e001", "e003"]
    _assert_rfc7946_features(features, bbox)


def test_cluster_is_deterministic_whatever_the_input_order():
    points = _spread_points()
    assert geo.cluster(points, STATE, 8) == geo.cluster(list(reversed(points)), STATE, 8)


def test_cluster_validates_zoom_and_bbox():
    for zoom in (-1, 21, 7.5, "7", None, True):
        with pytest.raises(ValidationFailed) as caught:
            geo.cluster([], STATE, zoom)
        assert "zoom" in caught.value.fields
    with pytest.raises(ValidationFailed):
        geo.cluster([], (13, 50, 10, 53), 7)


def test_feature_collection_shape():
    features = geo.cluster(_spread_points(), STATE, 9)
    collection = geo.feature_collection(features, STATE)
    assert collection["type"] == "FeatureCollection"
    assert collection["bbox"] == list(STATE)
    assert collection["features"] is features
    assert geo.feature_collection([], "10,50,13,53") == {
        "type": "FeatureCollection", "bbox": [10.0, 50.0, 13.0, 53.0], "features": []}
