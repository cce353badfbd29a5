"""A local SMTP server that keeps every mail as an ``.eml`` file (``python -m cli.mailsink``).

``make run`` starts it beside the platform (``var/mail/``); the tests start it as a process of
its own, outside the eventlet-patched test process. Every accepted mail becomes one file
(written to a temporary name, then renamed, so a reader never sees half a mail) with the
envelope in ``X-Sink-Envelope-*`` headers on top. Addresses at two reserved domains act out
failures: ``…@bounce.invalid`` is refused for good (550), ``…@busy.invalid`` is refused once
per Message-ID (451, try again later).
"""
import argparse
import asyncio
import itertools
import os
import time
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller


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


def serve(directory: str, host: str, port: int) -> None:
    controller = Controller(FileSink(Path(directory)), hostname=host, port=port)
    controller.start()
    print(f"mail sink on {host}:{port}, mails in {directory}/", flush=True)
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
    arguments = parser.parse_args(argv)
    serve(arguments.dir, arguments.host, arguments.port)


if __name__ == "__main__":
    main()
