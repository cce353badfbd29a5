"""``kosi search``: rebuild the search index from the catalog and follow its progress."""
import json
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.operator import operator_rpc
from kernel.errors import Conflict


def reindex(poll_seconds: float = 0.5) -> int:
    """Start a rebuild (or follow the one running) until it ends; 0 when it succeeded."""
    console = Console(stderr=True)
    with operator_rpc() as rpc:
        try:
            status = rpc.search.reindex()
        except Conflict:
            console.print("a rebuild is already running; following it")
            status = rpc.search.reindex_status()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("rebuilding the search index", total=status.get("total_hint") or None)
            while True:
                hint = status.get("total_hint")
                progress.update(task, completed=status["done"],
                                total=max(hint, status["done"]) if hint else None)
                if status["state"] != "running":
                    break
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
