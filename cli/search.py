"""``kosi search``: rebuild the search index from the catalog and follow its progress."""
import json
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.operator import operator_rpc
from kernel.errors import Conflict


REQUEST_WAIT_SECONDS = 30.0  # a query process's request no writer takes within this is reported


def reindex(poll_seconds: float = 0.5, request_wait: float = REQUEST_WAIT_SECONDS) -> int:
    """Start a rebuild (or follow the one running) until it ends; 0 when it succeeded. A
    query-role search process passes the request on to the writer (state ``requested``)."""
    console = Console(stderr=True)
    with operator_rpc() as rpc:
        try:
            status = rpc.search.reindex()
        except Conflict:
            console.print("a rebuild is already running; following it")
            status = rpc.search.reindex_status()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        asked = time.monotonic()
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("rebuilding the search index", total=status.get("total_hint") or None)
            while True:
                hint = status.get("total_hint")
                progress.update(task, completed=status["done"],
                                total=max(hint, status["done"]) if hint else None)
                if status["state"] not in ("requested", "running"):
                    break
                if status["state"] == "requested" and time.monotonic() - asked > request_wait:
                    console.print(f"[red]no search process writing the index took the request within "
                                  f"{request_wait:g}s: is one of role index or all running?[/red]")
                    return 1
                time.sleep(poll_seconds)
                status = rpc.search.reindex_status()
    if status["state"] == "done":
        console.print(f"search index rebuilt: {status['done']} documents")
        return 0
    console.print(f"[red]search index rebuild {status['state']}: {status.get('error')}[/red]")
    return 1


def status() -> dict:
    """The search service's health and the state of the last rebuild."""
    with operator_rpc(timeout=10) as rpc:
        return {"health": rpc.search.health(), "rebuild": rpc.search.reindex_status()}


def print_status() -> None:
    print(json.dumps(status(), ensure_ascii=False, indent=2))


def setup() -> None:
    """Create the index the search service's config names (from this environment: run it with
    the search service's settings), before any search process starts."""
    from cli import registry
    from services.search.indexer import make_backend

    config = registry.config_of("search")
    backend = make_backend(config, writable=True)
    try:
        # Elasticsearch: the index behind its alias and the percolator's; tantivy made its
        # folder when opened for writing
        for step in ("ensure_index", "ensure_percolate_index"):
            if hasattr(backend, step):
                getattr(backend, step)()
        print(f"search index ready ({(config.get('SEARCH_BACKEND') or 'tantivy').lower()}): "
              f"{backend.count()} documents")
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()
