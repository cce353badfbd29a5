"""Structured logs (structlog) for services and tools: JSON lines or readable console."""
import logging
import sys

import structlog


def _no_traceback_for_expected_errors(_logger, _method, event_dict):
    """nameko logs an expected error (bad input, not found) with its traceback: noise."""
    if event_dict.get("logger") == "nameko.containers" and "(expected)" in str(event_dict.get("event", "")):
        event_dict.pop("exc_info", None)
    return event_dict


def configure_logging(service: str, level: str = "INFO", json_lines: bool = False) -> None:
    """Every line names the service; lines written by a worker also carry its request id and
    entrypoint (``kernel.dependencies.Tracing`` binds them per green thread)."""

    def add_service(_logger, _method, event_dict):
        event_dict.setdefault("service", service)
        return event_dict

    shared = [
        structlog.contextvars.merge_contextvars,
        add_service,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),  # fields given as logging's extra={…}
        _no_traceback_for_expected_errors,
    ]
    renderer = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=shared + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # py-amqp warns about every late publisher confirm on a channel kombu closes after a
    # returned (unroutable) message; that case is reported by the outbox relay itself
    logging.getLogger("amqp").setLevel(logging.ERROR)
    # pika (broker checks: /ready, kosi broker/dlq) narrates every connection at INFO
    logging.getLogger("pika").setLevel(logging.WARNING)
