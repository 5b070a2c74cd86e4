"""Protocols the core needs from the outside world: repositories, the unit of work, clock, keys, HTTP."""
