"""Geography every service needs: distances, bounding boxes, finite numbers.

Coordinates follow GeoJSON (RFC 7946): positions are ``[longitude, latitude]``, bounding
boxes ``(minLon, minLat, maxLon, maxLat)``. Function arguments named ``lat, lon`` take
latitude first, as people say them.
"""
import math

from kernel.errors import ValidationFailed

EARTH_RADIUS_KM = 6371.0088


def finite(value) -> bool:
    """A real number (not a bool, not NaN or infinite)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def in_bbox(lat: float, lon: float, bbox) -> bool:
    min_lon, min_lat, max_lon, max_lat = bbox
    return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


def _bbox_error(message: str):
    return ValidationFailed(f"invalid bbox: {message}", {"bbox": [message]})


def parse_bbox(text_or_list) -> tuple[float, float, float, float]:
    """``"minLon,minLat,maxLon,maxLat"`` (or a list of four numbers) as a tuple of floats."""
    if isinstance(text_or_list, str):
        parts = [part.strip() for part in text_or_list.split(",")]
    elif isinstance(text_or_list, (list, tuple)):
        parts = list(text_or_list)
    else:
        raise _bbox_error("must be minLon,minLat,maxLon,maxLat")
    if len(parts) != 4:
        raise _bbox_error(f"must have 4 numbers (minLon,minLat,maxLon,maxLat), got {len(parts)}")
    numbers = []
    for part in parts:
        if isinstance(part, bool):
            raise _bbox_error(f"not a number: {part!r}")
        try:
            number = float(part)
        except (TypeError, ValueError):
            raise _bbox_error(f"not a number: {str(part)[:40]!r}") from None
        if not math.isfinite(number):
            raise _bbox_error("numbers must be finite")
        numbers.append(number)
    min_lon, min_lat, max_lon, max_lat = numbers
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise _bbox_error("longitudes must lie between -180 and 180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise _bbox_error("latitudes must lie between -90 and 90")
    if min_lon > max_lon or min_lat > max_lat:
        raise _bbox_error("minimum must not be greater than maximum")
    return min_lon, min_lat, max_lon, max_lat
