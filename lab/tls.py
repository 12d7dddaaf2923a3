"""The lab's certificate authority: one CA per lab, and server certificates for 127.0.0.1/localhost.

Clients trust the lab the standard way: the CA's PEM in a kubeconfig's certificate-authority-data, or
a bundle (the system's CAs plus the lab's) named by SSL_CERT_FILE, GIT_SSL_CAINFO, NODE_EXTRA_CA_CERTS...
"""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = timedelta(days=30)
# Where Debian keeps the system's trusted CAs (ca-certificates); a bundle starts with them.
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class LabCA:
    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ameide lab CA")])
        now = datetime.now(UTC)
        self._name = name
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.pem = _pem(self._cert)

    def server_context(self, common_name: str) -> ssl.SSLContext:
        """A server SSL context with a new certificate for 127.0.0.1 and localhost, signed by the CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as tmp:  # ssl loads certificates only from files
            chain = Path(tmp) / "tls.pem"
            chain.write_text(_pem(cert) + self.pem + key_pem)
            context.load_cert_chain(chain)
        return context

    def write_bundle(self, path: Path) -> Path:
        """The system's trusted CAs followed by the lab's: for SSL_CERT_FILE and its kin."""
        system = SYSTEM_BUNDLE.read_text() if SYSTEM_BUNDLE.is_file() else ""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(system + ("\n" if system and not system.endswith("\n") else "") + self.pem)
        return path
