"""The ``mso_mdoc`` credential format (ISO/IEC 18013-5 mdoc, OID4VCI 1.0 Appendix A.2)."""

from openissuer.formats.mso_mdoc.credential_format import MSO_MDOC, MsoMdocFormat

__all__ = ["MSO_MDOC", "MsoMdocFormat"]
