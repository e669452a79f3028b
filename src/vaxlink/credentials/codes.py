"""2D codes and barcodes: certificate QR codes (PNG, SVG), the ID number as Code 128 and QR, and reading
any of them back from a picture.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np
import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError

from vaxlink.domain.errors import VaxlinkError

# Error level Q is what the scheme recommends: a printed or screen code stays readable with 25 % damage.
QR_ERROR = "q"
MAX_IMAGE_PIXELS = 40_000_000


class ImageError(VaxlinkError):
    """A picture that cannot be opened, or holds no code."""


def _qr(text: str) -> segno.QRCode:
    return segno.make_qr(text, error=QR_ERROR, boost_error=False)


def qr_png(text: str, *, scale: int = 4, border: int = 4) -> bytes:
    buf = io.BytesIO()
    _qr(text).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


def qr_svg(text: str, *, scale: int = 4, border: int = 4) -> bytes:
    buf = io.BytesIO()
    _qr(text).save(buf, kind="svg", scale=scale, border=border, xmldecl=True, svgns=True)
    return buf.getvalue()


_ID = re.compile(r"^[0-9]{12}$")


def _check_id(personal_id: str) -> None:
    if not _ID.match(personal_id):
        raise ValueError("a personal identification number has 12 digits")


def code128_png(personal_id: str, *, scale: int = 3) -> bytes:
    """The 12-digit number as a Code 128 barcode (quiet zones included, no human-readable text)."""
    _check_id(personal_id)
    barcode = zxingcpp.create_barcode(personal_id, zxingcpp.BarcodeFormat.Code128)
    pixels = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def id_qr_png(personal_id: str, *, scale: int = 6) -> bytes:
    _check_id(personal_id)
    return qr_png(personal_id, scale=scale)


@dataclass(frozen=True, slots=True)
class ReadCode:
    text: str
    format: str


def open_image(data: bytes) -> Image.Image:
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise ImageError("ảnh quá lớn / picture too large")
        image.load()
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"không mở được ảnh / cannot open the picture ({type(e).__name__})") from None
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return image


def read_codes(data: bytes) -> list[ReadCode]:
    """Every QR code and Code 128 barcode in a picture (PNG, JPEG, ...), in reading order."""
    image = open_image(data)
    formats = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128])
    found = zxingcpp.read_barcodes(image, formats=formats, text_mode=zxingcpp.TextMode.Plain)
    return [ReadCode(b.text, str(b.format)) for b in found if b.valid]


def read_code(data: bytes) -> ReadCode:
    """The one code a picture holds (the first when there are several)."""
    codes = read_codes(data)
    if not codes:
        raise ImageError("không tìm thấy mã QR hay mã vạch trong ảnh / no QR code or barcode in the picture")
    return codes[0]


def looks_like_image(data: bytes) -> bool:
    return data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")) or data[:4] in (
        b"II*\x00",
        b"MM\x00*",
    )
