"""Prometheus metrics: request count and latency per route template, merged across worker processes.

With several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set by ``openissuer serve`` and every worker writes its
samples there, so ``/metrics`` on any worker reports the whole server.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "openissuer_http_requests_total",
    "HTTP requests by route template, method and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "openissuer_http_request_duration_seconds",
    "HTTP request latency by route template and method",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


# The labelled children by (method, route template, status): ``labels()`` validates and locks on every call, and
# these keys are few (route templates, not paths), so each request looks its pair up once here instead.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_MAX_CACHED = 1024


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one request and record its latency."""
    key = (method, route, status)
    children = _CHILDREN.get(key)
    if children is None:
        children = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
        if len(_CHILDREN) < _MAX_CACHED:  # methods are the client's: never an unbounded map
            _CHILDREN[key] = children
    children[0].inc()
    children[1].observe(seconds)


def render_metrics() -> tuple[bytes, str]:
    """Return the exposition text and its content type (all workers' samples in multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
