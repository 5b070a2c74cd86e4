"""QR codes: segno draws them, zxing-cpp reads them, pdfium renders a PDF page for reading."""
