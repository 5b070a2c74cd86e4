"""Outbound HTTP: the guarded fetcher (SSRF guard, DNS pinning, timeouts, size cap) behind ``ports.http``."""

from openissuer.adapters.http.client import GuardedHttpFetcher
from openissuer.adapters.http.guard import OutboundGuard, classify_address

__all__ = ["GuardedHttpFetcher", "OutboundGuard", "classify_address"]
