"""marshmallow helpers shared by the gateway and the services."""
from functools import lru_cache

from marshmallow import Schema


@lru_cache(maxsize=None)
def schema_instance(schema: type[Schema]) -> Schema:
    """One instance per schema class: building one copies every declared field, which costs
    more than a validation; marshmallow schemas keep no state between loads."""
    return schema()
