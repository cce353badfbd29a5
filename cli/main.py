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


SERVICE_ARGUMENT = dict(type=click.Choice(sorted(registry.SERVICES)), envvar="KOSI_SERVICE")


@main.command()
@click.argument("service", **SERVICE_ARGUMENT)
@click.option("--role", help="What this process of the service does, where it has roles "
                             "(search: all, index or query; default: its config's, e.g. SEARCH_ROLE).")
def serve(service, role):
    """Run one service in this process (SERVICE, or the environment's KOSI_SERVICE, as in the
    container image); it migrates its database first unless <SERVICE>_MIGRATE_ON_START is false."""
    from cli.serve import serve_service

    roles = registry.roles_of(service)
    if role is not None and role not in roles:
        raise click.BadParameter(f"{service} has " + (f"the roles {', '.join(roles)}" if roles else "no roles"),
                                 param_hint="--role")
    serve_service(service, role)


@main.command()
@click.argument("service", **SERVICE_ARGUMENT)
@click.option("--ready", is_flag=True, help="Readiness (its broker, database, index answer) instead of liveness.")
@click.option("--rpc", is_flag=True, help="Ask the service's health RPC over the broker, as the operator, "
                                          "instead of its ops port (<SERVICE>_METRICS_ADDRESS).")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for the answer.")
def health(service, ready, rpc, timeout):
    """A service's health as JSON; exit 0 healthy, else 1 (the container's probe)."""
    from cli.health import report

    sys.exit(report(service, ready, rpc, timeout))


@main.command()
@click.option("--no-demo", is_flag=True, help="Start without loading demo data.")
def run(no_demo):
    """Start the whole platform on this machine (each service its own process)."""
    from cli.local import run_platform

    sys.exit(run_platform(load_demo=not no_demo))


@main.group()
def config():
    """The services' settings."""


@config.command("reference")
@click.option("--check", is_flag=True, help="Exit 1 when docs/configuration.md differs from the config files.")
def config_reference(check):
    """Write docs/configuration.md: every setting of every service, from their config files."""
    from cli import config_reference as reference

    sys.exit(reference.main(["--check"] if check else []))


@main.group()
def deploy():
    """Container deployments (deploy/README.md)."""


@deploy.command("secrets")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--broker-host", default="rabbitmq", show_default=True)
@click.option("--broker-port", default=5672, show_default=True)
@click.option("--vhost", default="kosi", show_default=True)
@click.option("--database-host", default="postgres", show_default=True)
@click.option("--database-port", default=5432, show_default=True)
@click.option("--prefix", default="kosi", show_default=True,
              help="Broker users are <prefix>-<service>, databases and their users <prefix>_<service>.")
@click.option("--force", is_flag=True, help="Replace existing files (every secret changes at once).")
def deploy_secrets(folder, broker_host, broker_port, vhost, database_host, database_port, prefix, force):
    """Make every secret of a new deployment: one env file per service, the jobs and the dependencies."""
    from cli.deploy_secrets import Hosts, write

    hosts = Hosts(broker_host, broker_port, vhost, database_host, database_port, prefix)
    try:
        for path in write(folder, hosts, force):
            click.echo(str(path))
    except FileExistsError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def db():
    """Database migrations."""


@db.command("upgrade")
@click.argument("services", nargs=-1, type=click.Choice(registry.DATABASE_SERVICES))
def db_upgrade(services):
    """Bring the services' databases (each named, or all) to the newest schema: the one-off job
    before a release's services start, since replicas in production don't migrate on start."""
    from kernel.migrations import upgrade

    for service in services or registry.DATABASE_SERVICES:
        upgrade(service, registry.database_url(service))
        click.echo(f"{service}: database at head")


def _operator_broker():
    config = registry.operator_config()
    return config["AMQP_URI"], config.get("BROKER_MANAGEMENT_URL")


@main.group()
def broker():
    """RabbitMQ: topology, service users, bindings nobody owns."""


@broker.command("setup")
@click.option("--users", "with_users", is_flag=True,
              help="Also create each service's broker user and its permissions (from the services' configs).")
@click.option("--recreate-exchanges", is_flag=True,
              help="Delete and declare again a producer exchange an older release declared without its "
                   "alternate exchange (the registered consumers are bound again).")
def broker_setup(with_users, recreate_exchanges):
    """Declare exchanges, consumer queues, retry delays, parked and dead-letter queues.

    Run it before any service starts (deploying in that order parks nothing). It also
    reports queues bound to a producer's exchange that no registered consumer owns."""
    from kernel import broker as tooling
    from kernel.management import Management

    amqp_uri, management_url = _operator_broker()
    subscriptions = registry.all_subscriptions()
    management = Management.from_amqp_uri(amqp_uri, management_url)
    _report_unowned(tooling, management, subscriptions)  # first: a recreated exchange loses them
    try:
        report = tooling.declare_topology(amqp_uri, registry.PRODUCERS, subscriptions, registry.retry_delays(),
                                          recreate=recreate_exchanges)
    except tooling.ExchangeMismatch as error:
        raise click.ClickException(str(error)) from None
    declared = report.as_dict()
    click.echo(f"declared {declared['exchanges']} exchanges and {declared['queues']} queues"
               + (f"; recreated {', '.join(declared['recreated'])}" if declared["recreated"] else ""))
    if with_users:
        written = tooling.ensure_service_users(management, registry.broker_users())
        click.echo(f"broker users: {', '.join(written) or 'none (every service uses guest)'}")


def _report_unowned(tooling, management, subscriptions) -> None:
    try:
        unowned = tooling.unowned_bindings(management, registry.PRODUCERS, subscriptions)
    except Exception as error:  # the report needs the management API; the topology is declared anyway
        click.echo(f"could not check for bindings nobody owns: {error}", err=True)
        return
    for bound in unowned:
        click.echo(f"unowned: queue {bound['queue']} ({bound['messages']} messages) is bound to "
                   f"{bound['exchange']} for {bound['routing_key']}, but no registered consumer owns it; "
                   f"stop it filling with `kosi broker unbind {bound['queue']} {bound['exchange']} "
                   f"{bound['routing_key']}`", err=True)


@broker.command("unbind")
@click.argument("queue")
@click.argument("exchange")
@click.argument("routing_key")
def broker_unbind(queue, exchange, routing_key):
    """Unbind a queue nobody owns from an exchange (its messages stay in the queue)."""
    from kernel.broker import unbind

    unbind(_operator_broker()[0], queue, exchange, routing_key)
    click.echo(f"{queue} no longer receives {routing_key} from {exchange}")


def _echo_messages(messages: list[dict], what: str) -> None:
    for message in messages:
        click.echo(json.dumps(message, ensure_ascii=False, default=str))
    click.echo(f"{len(messages)} {what}", err=True)


def _echo_replay(report) -> None:
    summary = report.as_dict()
    click.echo(f"replayed {summary['replayed']} message(s)")
    for refused in summary["refused"]:
        click.echo(f"refused {refused['message_id']}: replayed {refused['replayed']} times already "
                   f"(fix its cause, or take it off the queue by hand)", err=True)
    if summary["refused"]:
        sys.exit(1)


@main.group()
def dlq():
    """Dead letters: events a consumer failed on, after all its retries."""


@dlq.command("list")
@click.option("--limit", default=50, show_default=True)
def dlq_list(limit):
    """Show dead letters with queue, error and attempts (they stay in the queue)."""
    from kernel.broker import dead_letters

    _echo_messages(dead_letters(_operator_broker()[0], limit), "dead letter(s)")


@dlq.command("replay")
@click.option("--id", "message_id", help="Replay only the message with this id.")
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@click.option("--max-replays", default=3, show_default=True,
              help="Refuse a message replayed this often already (it fails again and again).")
def dlq_replay(message_id, replay_all, max_replays):
    """Send dead letters back to the queue they failed in (a fresh round of retries)."""
    from kernel.broker import replay_dead_letters

    if not (message_id or replay_all):
        raise click.UsageError("say --id MESSAGE_ID or --all")
    _echo_replay(replay_dead_letters(_operator_broker()[0], message_id, max_replays=max_replays))


@main.group()
def parked():
    """Parked events: published while no queue took them, or in a version a consumer cannot read."""


def _parked_queues() -> list[str]:
    from kernel.broker import parked_queues

    return parked_queues(registry.PRODUCERS, registry.consumers())


@parked.command("list")
@click.option("--limit", default=50, show_default=True)
def parked_list(limit):
    """Show parked events per parked queue (they stay where they are)."""
    from kernel.broker import parked as parked_messages

    found = parked_messages(_operator_broker()[0], _parked_queues(), limit)
    for queue, messages in found.items():
        click.echo(f"{queue}: {len(messages)} parked", err=True)
        for message in messages:
            click.echo(json.dumps({"parked_in": queue, **message}, ensure_ascii=False, default=str))


@parked.command("replay")
@click.argument("queue")
@click.option("--id", "message_id", help="Replay only the message with this id.")
def parked_replay(queue, message_id):
    """Replay a parked queue: to the producer's exchange (<producer>.events.unrouted), whoever
    subscribes now gets them; or back to the consumer queue they came from (<service>.parked),
    e.g. after that consumer was upgraded."""
    from kernel.broker import replay_parked

    known = _parked_queues()
    if queue not in known:
        raise click.UsageError(f"unknown parked queue {queue!r}; one of: {', '.join(known)}")
    _echo_replay(replay_parked(_operator_broker()[0], queue, message_id))


@main.group()
def retention():
    """Retention of personal data (docs/privacy.md)."""


@retention.command("run")
def retention_run():
    """Apply each service's retention now and print what was deleted or erased. The services
    also apply it by themselves every hour; the settings are theirs (…_RETENTION_DAYS)."""
    from rich.console import Console
    from rich.table import Table

    from cli.operator import operator_rpc

    table = Table("service", "what", "count", title="retention applied")
    with operator_rpc(timeout=600) as rpc:
        for service in registry.DATABASE_SERVICES:
            for what, count in getattr(rpc, service).run_retention().items():
                table.add_row(service, what.replace("_", " "), str(count))
    Console().print(table)


@main.group()
def search():
    """The search index (fed by catalog events)."""


@search.command("reindex")
def search_reindex():
    """Rebuild the index from the catalog (the old index serves until the new one is complete)."""
    from cli.search import reindex

    sys.exit(reindex())


@search.command("setup")
def search_setup():
    """Create the search index (and Elasticsearch's percolator index) if missing: the one-off
    job before the search service starts; an existing index is left as it is."""
    from cli.search import setup

    setup()


@search.command("status")
def search_status():
    """Health of the search service and the state of the last rebuild."""
    from cli.search import print_status

    print_status()


@main.group()
def survey():
    """Surveys: export responses, close a survey."""


@survey.command("export")
@click.argument("survey_id")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--delimiter", type=click.Choice(["semicolon", "comma"]), default="semicolon", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
def survey_export(survey_id, fmt, delimiter, output):
    """Every response, one row each (CSV: UTF-8 with BOM for spreadsheets)."""
    from cli.survey import export_survey

    export_survey(survey_id, fmt, output, delimiter)


@survey.command("invite")
@click.argument("survey_id")
@click.option("--count", type=click.IntRange(1, 1000), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
def survey_invite(survey_id, count, output):
    """Invitation tokens for a survey by invitation, one per line (hand each to one person)."""
    from cli.survey import invite

    invite(survey_id, count, output)


@main.group()
def newsletter():
    """Newsletters: list them, send one with a progress bar."""


@newsletter.command("list")
def newsletter_list():
    """Newsletters, newest first: id, status, sent/recipients, subject."""
    from cli.newsletter import list_newsletters

    list_newsletters()


@newsletter.command("send")
@click.argument("newsletter_id")
@click.option("--test-to", help="Send one test copy to this address instead.")
def newsletter_send(newsletter_id, test_to):
    """Send a draft to its segment (or follow one being sent) until every mail is out."""
    from cli.newsletter import send

    sys.exit(send(newsletter_id, test_to))


@survey.command("close")
@click.argument("survey_id")
def survey_close(survey_id):
    """Close a survey now (it takes no more responses)."""
    from cli.survey import close_survey

    close_survey(survey_id)


@main.command()
def keys():
    """Print a new Ed25519 key pair for signing actor assertions (gateway or CLI)."""
    from kernel.identity import generate_keypair

    private, public = generate_keypair()
    click.echo(f"private (the signer's secret, e.g. KOSI_GATEWAY_SIGNING_KEY): {private}")
    click.echo(f"public (for KOSI_TRUSTED_SIGNERS as issuer:{public}): {public}")


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
    longest = int(auth.get("MAX_TOKEN_SECONDS") or 0)
    if longest and ttl > longest:
        raise click.ClickException(f"the gateway accepts tokens of at most {longest} seconds "
                                   "(KOSI_JWT_MAX_SECONDS); ask for a shorter --ttl")
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


def _outbox_engine(service):
    from kernel.db import create_db_engine

    return create_db_engine(registry.database_url(service))


@outbox.command("status")
@click.argument("service", type=click.Choice(registry.DATABASE_SERVICES))
def outbox_status(service):
    """Events still waiting to be published, and events parked on the broker."""
    import importlib

    from kernel import topology
    from kernel.broker import queue_length
    from kernel.outbox import outbox_status as status_of

    metadata = importlib.import_module(f"services.{service}.models").metadata
    engine = _outbox_engine(service)
    status = {"service": service, **status_of(engine, metadata)}
    engine.dispose()
    if service in registry.PRODUCERS:
        unrouted = topology.unrouted_name(service)
        status["parked"] = {unrouted: queue_length(_operator_broker()[0], unrouted)}
    click.echo(json.dumps(status, ensure_ascii=False))


@outbox.command("prune")
@click.argument("service", type=click.Choice(registry.DATABASE_SERVICES))
@click.option("--older-than-days", type=float, help="Default: the service's OUTBOX_RETENTION_DAYS (7).")
def outbox_prune(service, older_than_days):
    """Delete published events older than the retention (unpublished ones are kept)."""
    import importlib
    from datetime import timedelta

    from kernel.outbox import prune_outbox

    days = older_than_days if older_than_days is not None else float(
        registry.config_of(service).get("OUTBOX_RETENTION_DAYS") or 7)
    metadata = importlib.import_module(f"services.{service}.models").metadata
    engine = _outbox_engine(service)
    removed = prune_outbox(engine, metadata, timedelta(days=days))
    engine.dispose()
    click.echo(f"{service}: {removed} published event(s) older than {days:g} days deleted")


if __name__ == "__main__":
    main()
