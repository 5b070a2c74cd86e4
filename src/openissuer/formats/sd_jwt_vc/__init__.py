"""The ``dc+sd-jwt`` credential format (IETF SD-JWT VC over RFC 9901 SD-JWT, OID4VCI 1.0 Appendix A.3)."""

from openissuer.formats.sd_jwt_vc.credential_format import SD_JWT_VC, SdJwtVcFormat

__all__ = ["SD_JWT_VC", "SdJwtVcFormat"]
