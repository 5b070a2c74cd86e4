"""openissuer: a self-hosted OpenID for Verifiable Credential Issuance issuer."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("openissuer")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
