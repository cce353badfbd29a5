"""SMTP with STARTTLS, implicit TLS and a login, against the sink acting as a relay that wants
them (its own process, a certificate made here for 127.0.0.1): the certificate is verified,
a wrong password or an untrusted certificate is a transient failure (the mail waits)."""
import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notify.smtp import SmtpSettings, SmtpTransport, TransientFailure
from tests.mail import running_sink

MESSAGE = b"From: a@kosi.example\r\nTo: ada@example.org\r\nSubject: Hallo\r\nMessage-ID: <tls-1@kosi>\r\n\r\nHallo.\r\n"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return str(folder / "cert.pem"), str(folder / "key.pem")


def send(port, security, ca_file="", password="geheim"):
    transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, security=security, username="kosi",
                                           password=password, ca_file=ca_file, timeout=10))
    try:
        transport.send("a@kosi.example", "ada@example.org", MESSAGE)
    finally:
        transport.close()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_encrypted_with_a_login_and_a_verified_certificate(certificate, tmp_path, security):
    cert, key = certificate
    with running_sink(tmp_path, options=(f"--{security}", "--cert", cert, "--key", key,
                                         "--login", "kosi:geheim")) as mailbox:
        send(mailbox.port, security, ca_file=cert)
        assert [mail["Message-ID"] for mail in mailbox.messages()] == ["<tls-1@kosi>"]
        with pytest.raises(TransientFailure, match="login refused|535"):
            send(mailbox.port, security, ca_file=cert, password="falsch")
        with pytest.raises(TransientFailure, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            send(mailbox.port, security)  # the system's CAs do not know this certificate
        assert len(mailbox.messages()) == 1


def test_a_relay_that_wants_starttls_refuses_plain_text(certificate, tmp_path):
    cert, key = certificate
    with running_sink(tmp_path, options=("--starttls", "--cert", cert, "--key", key, "--login", "kosi:geheim")) \
            as mailbox:
        with pytest.raises(TransientFailure):
            send(mailbox.port, "none")
        assert mailbox.messages() == []
