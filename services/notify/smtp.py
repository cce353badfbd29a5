"""Sending over SMTP: one connection kept open across mails, STARTTLS or TLS, a login when
credentials are configured. Failures are sorted into transient (try again later: 4xx replies,
a lost connection, a timeout) and permanent (5xx replies: the address or the mail is refused).
"""
import smtplib
import ssl
from dataclasses import dataclass


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 8025
    security: str = "none"  # none | starttls | tls
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    ca_file: str = ""  # a CA bundle to trust (a relay with a private CA); default: the system's


class TransientFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


def _reply_text(code, reply) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}"[:280]


class SmtpTransport:
    def __init__(self, settings: SmtpSettings):
        if settings.security not in ("none", "starttls", "tls"):
            raise ValueError("SMTP_SECURITY must be none, starttls or tls")
        self.settings = settings
        self._connection = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.security == "tls":
            connection = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                          context=self._tls_context())
        else:
            connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                connection.starttls(context=self._tls_context())
        if settings.username:
            connection.login(settings.username, settings.password)
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        """Certificates are verified, host name included, always."""
        return ssl.create_default_context(cafile=self.settings.ca_file or None)

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        """Hand one mail to the server; ``TransientFailure`` or ``PermanentFailure`` if it refuses."""
        try:
            if self._connection is None:
                self._connection = self._connect()
            self._connection.sendmail(sender, [recipient], message)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            self._raise_for(code, reply)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            self._raise_for(error.smtp_code, error.smtp_error)
        except smtplib.SMTPAuthenticationError as error:
            self.close()
            raise TransientFailure(f"login refused: {_reply_text(error.smtp_code, error.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as error:  # disconnected, refused, timed out
            self.close()
            raise TransientFailure(f"{type(error).__name__}: {error}"[:280]) from None

    def _raise_for(self, code, reply):
        self._reset()
        if 500 <= int(code or 0) < 600:
            raise PermanentFailure(_reply_text(code, reply))
        raise TransientFailure(_reply_text(code, reply))

    def _reset(self):
        try:
            self._connection.rset()
        except (smtplib.SMTPException, OSError, AttributeError):
            self.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
