"""A local SMTP server that keeps every mail as an ``.eml`` file (``python -m cli.mailsink``).

``make run`` starts it beside the platform (``var/mail/``); the tests start it as a process of
its own, outside the eventlet-patched test process. Every accepted mail becomes one file
(written to a temporary name, then renamed, so a reader never sees half a mail) with the
envelope in ``X-Sink-Envelope-*`` headers on top. Addresses at two reserved domains act out
failures: ``…@bounce.invalid`` is refused for good (550), ``…@busy.invalid`` is refused once
per Message-ID (451, try again later). ``--starttls`` or ``--tls`` (with ``--cert``/``--key``)
and ``--login user:password`` act out a relay that wants encryption and a login, to try
notify's SMTP settings against.
"""
import argparse
import asyncio
import itertools
import os
import ssl
import time
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class FileSink:
    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.counter = itertools.count(1)
        self.deferred = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rsplit("@", 1)[-1].lower()
        if domain == "bounce.invalid":
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if any(address.lower().endswith("@busy.invalid") for address in envelope.rcpt_tos):
            key = BytesHeaderParser().parsebytes(content).get("Message-ID") or content
            if key not in self.deferred:
                self.deferred.add(key)
                return "451 4.3.0 try again later"
        head = (f"X-Sink-Envelope-From: {envelope.mail_from}\r\n"
                f"X-Sink-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        name = f"{time.time_ns()}-{next(self.counter):07d}"
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(head + content)
        os.replace(temporary, self.directory / f"{name}.eml")
        return "250 OK: kept"


class OneLogin:
    """An aiosmtpd authenticator that accepts one user name and password."""

    def __init__(self, username: str, password: str):
        self.username, self.password = username.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        accepted = getattr(auth_data, "login", None) == self.username and auth_data.password == self.password
        return AuthResult(success=accepted, handled=False)


def serve(directory: str, host: str, port: int, security: str = "none", cert: str | None = None,
          key: str | None = None, login: str | None = None) -> None:
    options = {}
    if security != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if security == "starttls":
            options.update(tls_context=context, require_starttls=True)
        else:
            options["ssl_context"] = context
    if login:
        username, _, password = login.partition(":")
        # implicitly TLS-wrapped connections are encrypted, but aiosmtpd counts only STARTTLS as TLS
        options.update(authenticator=OneLogin(username, password), auth_require_tls=security == "starttls",
                       auth_required=True)
    controller = Controller(FileSink(Path(directory)), hostname=host, port=port, **options)
    controller.start()
    print(f"mail sink on {host}:{port} ({security}), mails in {directory}/", flush=True)
    try:
        asyncio.run(_forever())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


async def _forever():
    while True:
        await asyncio.sleep(3600)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="var/mail")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    security = parser.add_mutually_exclusive_group()
    security.add_argument("--starttls", action="store_const", const="starttls", dest="security")
    security.add_argument("--tls", action="store_const", const="tls", dest="security")
    parser.add_argument("--cert", help="PEM certificate (with --starttls or --tls)")
    parser.add_argument("--key", help="PEM private key (with --starttls or --tls)")
    parser.add_argument("--login", help="user:password the sink requires")
    arguments = parser.parse_args(argv)
    if arguments.security and not (arguments.cert and arguments.key):
        parser.error("--starttls and --tls need --cert and --key")
    serve(arguments.dir, arguments.host, arguments.port, arguments.security or "none", arguments.cert,
          arguments.key, arguments.login)


if __name__ == "__main__":
    main()
