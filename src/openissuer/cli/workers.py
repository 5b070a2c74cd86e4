"""Several worker processes, each accepting on a listening socket of its own (``SO_REUSEPORT``).

uvicorn's own multi-worker mode binds one socket in the parent and lets every worker accept from it. A worker that
wakes first accepts every connection waiting, so a few long-lived keep-alive connections (a reverse proxy's upstream
pool, a handful of busy clients) can all end up on one worker while the others idle: bench/compare.py saw one of
two workers take all 8 wallets' connections. Here each worker gets its own socket bound to the same address with
``SO_REUSEPORT``, and the kernel spreads new connections over the workers' sockets by a hash of their addresses.

Everything else is uvicorn's supervisor: health checks, restarting a worker that dies, SIGHUP's rolling restart,
SIGTERM and SIGINT. The parent binds each worker's socket, hands it over as the worker starts and closes its own
copy at the supervisor's next tick, never listening on it (only listening sockets take connections). Where the
platform has no ``SO_REUSEPORT``, the workers share one socket as with uvicorn.
"""

from __future__ import annotations

import logging
import socket

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess

log = logging.getLogger("openissuer.server")


def reuse_port_available() -> bool:
    """Whether this platform can spread connections over several listening sockets of one address."""
    return hasattr(socket, "SO_REUSEPORT")


class ReusePortMultiprocess(Multiprocess):
    """uvicorn's ``Multiprocess`` with a freshly bound ``SO_REUSEPORT`` socket for every worker it starts."""

    def __init__(self, config: Config) -> None:
        self._port = config.port  # 0 is resolved by the first bind; every later socket takes the same port
        self._handed_over: list[socket.socket] = []
        super().__init__(config, sockets=[])

    @property
    def sockets(self) -> list[socket.socket]:
        """The sockets for the next worker: one new socket, read by uvicorn each time it starts a worker."""
        bound = self._bind()
        self._handed_over.append(bound)
        return [bound]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        """``Multiprocess.__init__`` stores the shared sockets here; there are none."""

    def _bind(self) -> socket.socket:
        host = self.config.host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        bound = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        try:
            bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            bound.bind((host, self._port))
        except OSError as exc:
            bound.close()
            log.error("cannot listen on %s:%s: %s", host, self._port, exc)
            if self.processes:  # replacing a worker: stop the others too rather than leave them without a parent
                self.should_exit.set()
                self.terminate_all()
                self.join_all()
            raise SystemExit(STARTUP_FAILURE) from exc
        if not self._port:
            self._port = bound.getsockname()[1]
        bound.set_inheritable(True)
        return bound

    def _close_handed_over(self) -> None:
        """Close the parent's copies of the sockets given to workers already started (each has its own)."""
        handed_over, self._handed_over = self._handed_over, []
        for bound in handed_over:
            bound.close()

    def init_processes(self) -> None:
        super().init_processes()
        self._close_handed_over()
        log.info("%d workers listening on %s:%d, one socket each", self.processes_num, self.config.host, self._port)

    def handle_signals(self) -> None:
        super().handle_signals()  # SIGHUP's rolling restart starts workers here
        self._close_handed_over()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()  # a worker that died is replaced here
        self._close_handed_over()
