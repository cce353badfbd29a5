"""Alembic environment of the notify service: its tables (the rest is ``kernel.migrations``)."""
from kernel.migrations import run_environment
from services.notify.models import metadata

run_environment(metadata)
