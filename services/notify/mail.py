"""Mails as bytes: Jinja2 templates (HTML autoescaped, plus a plain-text alternative) in the
layout with the centre's footer, and the headers every mail carries.

A mail to a subscriber carries a one-click unsubscribe link in its footer and in
``List-Unsubscribe`` with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).
Its ``Message-ID`` is made of the delivery's id, so a mail sent again after a crash is the
same message to the receiving side.
"""
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notify.texts import texts

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class MailSettings:
    sender: str = "KoSI Sachsen-Anhalt <noreply@kosi.localhost>"
    domain: str = "kosi.localhost"  # of the Message-IDs
    base_url: str = "http://localhost:8000"  # where the links in mails lead
    centre_name: str = "Kompetenzzentrum Soziale Innovation Sachsen-Anhalt"
    centre_address: str = "Magdeburg"


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


class Renderer:
    def __init__(self, settings: MailSettings):
        self.settings = settings
        self.environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                                       autoescape=select_autoescape(enabled_extensions=("html",),
                                                                    default_for_string=False),
                                       keep_trailing_newline=True)
        self.centre = {"name": settings.centre_name, "address": settings.centre_address}

    def url(self, path: str) -> str:
        return self.settings.base_url.rstrip("/") + path

    def render(self, template: str, language: str, subject: str, links: dict | None = None, **context) -> Mail:
        values = {"t": texts(language), "language": language, "subject": subject, "centre": self.centre,
                  "links": links or {}, "personal": False, "heading": None, **context}
        html = self.environment.get_template(f"{template}.html").render(values)
        text = self.environment.get_template(f"{template}.txt").render(values)
        return Mail(subject, text, html)


def message_id(delivery_id: str, settings: MailSettings) -> str:
    return f"<{delivery_id}@{settings.domain}>"


def build_message(mail: Mail, recipient: str, delivery_id: str, settings: MailSettings,
                  unsubscribe_url: str | None = None) -> bytes:
    message = EmailMessage(policy=SMTP)
    name, address = parseaddr(settings.sender)
    message["From"] = str(Address(name, addr_spec=address)) if name else address
    message["To"] = recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(delivery_id, settings)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message.as_bytes()


def envelope_sender(settings: MailSettings) -> str:
    return parseaddr(settings.sender)[1]
