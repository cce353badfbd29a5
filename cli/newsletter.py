"""``kosi newsletter``: list newsletters, send one and follow it to the end (as the operator)."""
import time

import click
from nameko.exceptions import UnknownService
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.operator import operator_rpc
from kernel.errors import KosiError


def _progress_text(progress: dict) -> str:
    return f"sent {progress['sent']}, failed {progress['failed']}, pending {progress['pending']}"


def send(newsletter_id: str, test_to: str | None = None, poll_seconds: float = 0.5) -> int:
    """Send a draft (or follow one being sent) until nothing is pending; 0 when none failed."""
    console = Console(stderr=True)
    try:
        with operator_rpc() as rpc:
            if test_to:
                console.print(rpc.notify.send_newsletter(newsletter_id, {"test_to": test_to})["message"])
                return 0
            newsletter = rpc.notify.get_newsletter(newsletter_id)
            if newsletter["status"] == "draft":
                newsletter = rpc.notify.send_newsletter(newsletter_id)
            else:
                console.print(f"the newsletter is {newsletter['status']} already; following it")
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
            with Progress(*columns, console=console) as bar:
                progress = newsletter["progress"]
                task = bar.add_task(newsletter["subject"][:40], total=progress["recipients"],
                                    detail=_progress_text(progress))
                while True:
                    bar.update(task, completed=progress["sent"] + progress["failed"], detail=_progress_text(progress))
                    if progress["pending"] == 0:
                        break
                    time.sleep(poll_seconds)
                    progress = rpc.notify.get_newsletter(newsletter_id)["progress"]
    except KosiError as error:
        raise click.ClickException(f"{type(error).__name__}: {error}") from None
    except UnknownService:
        raise click.ClickException("the notify service is not running") from None
    console.print(f"{newsletter['subject']}: {progress['sent']} of {progress['recipients']} sent, "
                  f"{progress['failed']} failed")
    return 1 if progress["failed"] else 0


def list_newsletters() -> None:
    try:
        with operator_rpc(timeout=10) as rpc:
            page = rpc.notify.list_newsletters({"per_page": 100})
    except UnknownService:
        raise click.ClickException("the notify service is not running") from None
    for item in page["items"]:
        click.echo(f"{item['id']}  {item['status']:<8} {item['progress']['sent']:>6}/{item['progress']['recipients']:<6} "
                   f"{item['subject']}")
