"""The ``cwt`` format: the reference platform's compact credentials (profile ``compact``, §9)."""

from openissuer.formats.cwt.credential_format import CwtFormat

__all__ = ["CwtFormat"]
