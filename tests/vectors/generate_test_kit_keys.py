#!/usr/bin/env python3
"""Writes src/testing/keys/: the fixed key material of the test kit's `KeyHost` (feature
`test-util`), made once here so the library needs no certificate generator.

- ca.pem: a test CA (P-256), which only a `KeyHost`'s own fetcher trusts;
- tls.pem / tls.key: the host's TLS certificate, for 127.0.0.1 and localhost;
- rsa.key: the RSA key PayPal and Amazon SNS sign with in tests, and its certificates
  paypal.pem (messageverificationcerts.paypal.com) and sns.pem (sns.amazonaws.com);
- jwt.key: the P-256 key Plaid and FusionAuth sign JWTs with in tests.

Every certificate is valid until 9999. These keys are public: never trust ca.pem outside
tests. Run it from the repository root.
"""
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OUT = "src/testing/keys/"
START = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
END = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)


def write(name, data):
    with open(OUT + name, "wb") as f:
        f.write(data)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


ca_key = ec.generate_private_key(ec.SECP256R1())
ca = (x509.CertificateBuilder()
      .subject_name(name("tower-webhook test CA")).issuer_name(name("tower-webhook test CA"))
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(START).not_valid_after(END)
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                   content_commitment=False, key_encipherment=False,
                                   data_encipherment=False, key_agreement=False,
                                   encipher_only=False, decipher_only=False), critical=True)
      .sign(ca_key, hashes.SHA256()))


def issue(public_key, names):
    return (x509.CertificateBuilder()
            .subject_name(name(str(names[0].value))).issuer_name(ca.subject)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(START).not_valid_after(END)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM))


write("ca.pem", ca.public_bytes(serialization.Encoding.PEM))
tls_key = ec.generate_private_key(ec.SECP256R1())
write("tls.key", key_pem(tls_key))
write("tls.pem", issue(tls_key.public_key(), [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                             x509.DNSName("localhost")]))
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
write("rsa.key", key_pem(rsa_key))
write("paypal.pem", issue(rsa_key.public_key(), [x509.DNSName("messageverificationcerts.paypal.com")]))
write("sns.pem", issue(rsa_key.public_key(), [x509.DNSName("sns.amazonaws.com")]))
write("jwt.key", key_pem(ec.generate_private_key(ec.SECP256R1())))
