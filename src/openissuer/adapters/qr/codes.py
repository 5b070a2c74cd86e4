"""``QrCodes`` with segno (drawing), Pillow (images), zxing-cpp (reading) and pypdfium2 (PDF pages).

Reading takes untrusted uploads (at most 1 MB, checked before this is called): only PNG, JPEG, GIF, BMP and WebP
images are opened, one of more than ``MAX_PIXELS`` pixels is refused from its header before it is decoded, and
only the first page of a PDF is rendered, at a scale that keeps it under the same pixel bound.
"""

from __future__ import annotations

import io
import math

import pypdfium2
import segno
import zxingcpp
from PIL import Image

from openissuer.ports.qr_codes import QrCodeError

MAX_PIXELS = 25_000_000
MAX_WIDTH = 4000
_PDF_MAGIC = b"%PDF-"
_PDF_TARGET_DPI = 200
_PDF_POINTS_PER_INCH = 72


class SegnoZxingQrCodes:
    """Implements ``ports.qr_codes.QrCodes``."""

    def render_png(self, text: str, width: int) -> bytes:
        """Draw the QR code (error correction M, 4-module quiet zone) scaled to exactly ``width`` pixels."""
        if not 1 <= width <= MAX_WIDTH:
            raise QrCodeError(f"width must be between 1 and {MAX_WIDTH}")
        try:
            code = segno.make_qr(text, error="m", boost_error=False)
        except segno.DataOverflowError as exc:
            raise QrCodeError("The credential is too long for a QR code") from exc
        modules = code.symbol_size(scale=1, border=4)[0]
        if width < modules:
            raise QrCodeError(f"width must be at least {modules} pixels for this credential")
        buffer = io.BytesIO()
        code.save(buffer, kind="png", scale=math.ceil(width / modules), border=4)
        image = Image.open(io.BytesIO(buffer.getvalue()))
        output = io.BytesIO()
        image.convert("L").resize((width, width), Image.Resampling.NEAREST).save(output, format="PNG")
        return output.getvalue()

    def read(self, data: bytes) -> list[str]:
        """Return the texts of the QR codes found (first page only for a PDF)."""
        image = _pdf_page(data) if data.startswith(_PDF_MAGIC) else _image(data)
        formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        return [result.text for result in zxingcpp.read_barcodes(image, formats=formats)]


def _image(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "GIF", "BMP", "WEBP"]) as opened:
            if opened.width * opened.height > MAX_PIXELS:  # checked from the header, before decoding
                raise QrCodeError("The image is too large")
            return opened.convert("L")
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise QrCodeError("The file is not a readable image") from exc


def _pdf_page(data: bytes) -> Image.Image:
    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise QrCodeError("The file is not a readable PDF") from exc
    try:
        if len(document) == 0:
            raise QrCodeError("The PDF has no page")
        page = document[0]
        width, height = page.get_size()
        scale = _PDF_TARGET_DPI / _PDF_POINTS_PER_INCH
        if width * height * scale * scale > MAX_PIXELS:
            scale = math.sqrt(MAX_PIXELS / max(width * height, 1))
        rendered: Image.Image = page.render(scale=scale, grayscale=True).to_pil()
        return rendered.convert("L")
    except pypdfium2.PdfiumError as exc:
        raise QrCodeError("The PDF page could not be rendered") from exc
    finally:
        document.close()
