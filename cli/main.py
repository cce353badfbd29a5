"""``kosi``: the command line for staff and operators."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything opens sockets: nameko and its clients need it

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

from cli import registry  # noqa: E402


@click.group()
def main():
    """KoSI platform: run services, manage the broker, tokens, data."""


@main.command()
@click.argument("service", type=click.Choice(sorted(registry.SERVICES)))
def serve(service):
    """Run one service in this process (migrates its database first)."""
    from cli.serve import serve_service

    serve_service(service)


@main.command()
@click.option("--no-demo", is_flag=True, help="Start without loading demo data.")
def run(no_demo):
    """Start the whole platform on this machine (each service its own process)."""
    from cli.local import run_platform

    sys.exit(run_platform(load_demo=not no_demo))


@main.group()
def db():
    """Database migrations."""


@db.command("upgrade")
@click.argument("service", type=click.Choice(registry.DATABASE_SERVICES))
def db_upgrade(service):
    """Bring a service's database to the newest schema."""
    from kernel.migrations import upgrade

    upgrade(service, registry.config_of(service)["DATABASE_URL"])
    click.echo(f"{service}: database at head")


@main.group()
def broker():
    """RabbitMQ topology."""


@broker.command("setup")
def broker_setup():
    """Declare exchanges, consumer queues and the dead-letter queue."""
    from kernel.broker import declare_topology

    amqp_uri = registry.config_of("catalog")["AMQP_URI"]
    declared = declare_topology(amqp_uri, registry.PRODUCERS, registry.all_subscriptions())
    click.echo(f"declared {declared['exchanges']} exchanges and {declared['queues']} queues")


@main.group()
def dlq():
    """Dead letters: events a consumer failed on."""


@dlq.command("list")
@click.option("--limit", default=50, show_default=True)
def dlq_list(limit):
    """Show dead letters (they stay in the queue)."""
    from kernel.broker import dead_letters

    letters = dead_letters(registry.config_of("catalog")["AMQP_URI"], limit)
    for letter in letters:
        click.echo(json.dumps(letter, ensure_ascii=False, default=str))
    click.echo(f"{len(letters)} dead letter(s)", err=True)


@dlq.command("replay")
@click.option("--id", "message_id", help="Replay only the message with this id (an event_id).")
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
def dlq_replay(message_id, replay_all):
    """Send dead letters back to the queue they failed in."""
    from kernel.broker import replay_dead_letters

    if not (message_id or replay_all):
        raise click.UsageError("say --id EVENT_ID or --all")
    count = replay_dead_letters(registry.config_of("catalog")["AMQP_URI"], message_id)
    click.echo(f"replayed {count} message(s)")


@main.group()
def search():
    """The search index (fed by catalog events)."""


@search.command("reindex")
def search_reindex():
    """Rebuild the index from the catalog (the old index serves until the new one is complete)."""
    from cli.search import reindex

    sys.exit(reindex())


@search.command("status")
def search_status():
    """Health of the search service and the state of the last rebuild."""
    from cli.search import print_status

    print_status()


@main.command()
@click.option("--role", "roles", multiple=True, type=click.Choice(["editor", "admin"]), required=True)
@click.option("--sub", default="staff@kosi", show_default=True, help="Subject (who the token is for).")
@click.option("--ttl", default=8 * 3600, show_default=True, help="Lifetime in seconds.")
def token(roles, sub, ttl):
    """Mint a staff token signed with the gateway's configured secret."""
    from gateway.auth import mint_token

    from cli.secrets import local_jwt_secret

    auth = registry.config_of("gateway")["AUTH"]
    secret = auth["JWT_SECRET"] or local_jwt_secret(create=False)
    if not secret:
        raise click.ClickException("no signing secret: set KOSI_JWT_SECRET (or start `kosi run` once)")
    click.echo(mint_token(secret, sub, list(roles), ttl,
                          issuer=auth.get("ISSUER"), audience=auth.get("AUDIENCE")))


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), help="Default: from the file name.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="Write the per-row report as JSON.")
@click.option("--batch", default=50, show_default=True)
def import_entries(path, fmt, report, batch):
    """Import entries from CSV or JSON; bad rows are rejected with reasons, good rows kept."""
    from cli.transfer import import_file

    summary = import_file(path, fmt or path.suffix.lstrip(".").lower(), batch, report)
    sys.exit(0 if summary["rejected"] == 0 else 1)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
def export_entries(fmt, output):
    """Export published entries as CSV or GeoJSON (no personal data)."""
    from cli.transfer import export_file

    export_file(fmt, output)


@main.group()
def outbox():
    """The transactional outbox of a service."""


@outbox.command("status")
@click.argument("service", type=click.Choice(registry.DATABASE_SERVICES))
def outbox_status(service):
    """How many committed events still wait to be published."""
    import sqlalchemy as sa

    from kernel.db import create_db_engine

    engine = create_db_engine(registry.config_of(service)["DATABASE_URL"])
    with engine.connect() as conn:
        pending, unroutable = conn.execute(sa.text(
            "SELECT count(*) FILTER (WHERE published_at IS NULL), count(*) FILTER (WHERE unroutable) "
            "FROM outbox")).one()
    click.echo(json.dumps({"service": service, "pending": pending, "unroutable": unroutable}))


if __name__ == "__main__":
    main()
