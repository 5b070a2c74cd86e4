"""Cryptography behind small functions: the Signer protocol, JWKs, envelope encryption, COSE_Sign1 and X.509.

This package and ``adapters/keys`` are the only places that import ``cryptography``, JOSE or COSE libraries
(DESIGN.md §1); everything else passes bytes, JWK dicts and ``Signer`` objects.
"""
