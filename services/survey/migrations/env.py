"""Alembic environment of the survey service: its tables (the rest is ``kernel.migrations``)."""
from kernel.migrations import run_environment
from services.survey.models import metadata

run_environment(metadata)
