import ssl
from pathlib import Path

from cryptography import x509
from mt5sim import tls


def test_generate_and_load(tmp_path) -> None:
    files = tls.generate(tmp_path, ("sim.example",))
    server = tls.server_context(files.cert_file, files.key_file)
    assert isinstance(server, ssl.SSLContext)
    client = tls.client_context(files.ca_file)
    assert client.verify_mode is ssl.CERT_REQUIRED
    pem = Path(files.cert_file).read_bytes()
    leaf = x509.load_pem_x509_certificates(pem)[0]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {str(n.value) for n in sans}
    assert {"127.0.0.1", "::1", "localhost", "sim.example"} <= names
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0
