"""The QR code port: draw a compact credential as a PNG, and read one back from an image or a PDF."""

from __future__ import annotations

from typing import Protocol


class QrCodeError(ValueError):
    """The text does not fit a QR code, or no QR code could be read from the file; the message is public."""


class QrCodes(Protocol):
    """Render and read QR codes (synchronous CPU work; callers run it off the event loop)."""

    def render_png(self, text: str, width: int) -> bytes:
        """Return a ``width`` x ``width`` PNG of the QR code of ``text``."""
        ...

    def read(self, data: bytes) -> list[str]:
        """Return the texts of the QR codes in a PNG, JPEG or GIF image, or on the first page of a PDF."""
        ...
