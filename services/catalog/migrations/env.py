"""Alembic environment of the catalog service: its tables (the rest is ``kernel.migrations``)."""
from kernel.migrations import run_environment
from services.catalog.models import metadata

run_environment(metadata)
