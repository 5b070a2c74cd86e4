"""Plain dataclasses and ids of the issuer's world; no I/O, no frameworks."""
