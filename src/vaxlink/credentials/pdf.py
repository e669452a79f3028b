"""Printable one-page documents: the vaccination certificate with its QR code, and the ID number notice
with a Code 128 barcode and a QR code of the number. Vietnamese first, English second.

The text uses DejaVu Sans, shipped in data/fonts (its licence beside it): the PDF base fonts have no
Vietnamese letters.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from vaxlink.credentials import codes
from vaxlink.domain.dates import PartialDate
from vaxlink.domain.vaccines import vaccine_by_code

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"


@cache
def _fonts() -> None:
    folder = resources.files("vaxlink.credentials").joinpath("data", "fonts")
    for name in (FONT, FONT_BOLD):
        with resources.as_file(folder.joinpath(f"{name}.ttf")) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))


def _canvas(buf: io.BytesIO, title: str) -> Canvas:
    _fonts()
    # invariant: the same input gives the same bytes (no creation date or random id in the file).
    c = Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle(title)
    c.setAuthor("Bộ Y tế Việt Nam / Ministry of Health of Viet Nam")
    return c


def _letterhead(
    c: Canvas, title_vi: str, vi_size: int, title_en: str, en_size: int, en_from_top: float
) -> None:
    """The national motto, then the document's title in Vietnamese and below it in English."""
    width, height = A4
    c.setFont(FONT, 10)
    c.drawCentredString(width / 2, height - 20 * mm, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    c.drawCentredString(width / 2, height - 25 * mm, "Độc lập - Tự do - Hạnh phúc")
    c.setFont(FONT_BOLD, vi_size)
    c.drawCentredString(width / 2, height - 40 * mm, title_vi)
    c.setFont(FONT, en_size)
    c.drawCentredString(width / 2, height - en_from_top, title_en)


def _finished(c: Canvas, buf: io.BytesIO) -> bytes:
    c.showPage()
    c.save()
    return buf.getvalue()


def _date_vi(value: str) -> str:
    """ISO date (or year, or year-month) written the Vietnamese way: dd/mm/yyyy."""
    parts = value.split("-")
    return "/".join(reversed(parts)) if parts and parts[0] else ""


def _rows(c: Canvas, x: float, y: float, rows: Sequence[tuple[str, str, str]], width: float) -> float:
    for vi, en, value in rows:
        c.setFont(FONT, 8)
        c.setFillGray(0.35)
        c.drawString(x, y, f"{vi} / {en}")
        c.setFillGray(0)
        c.setFont(FONT_BOLD, 11)
        text = value
        while text and c.stringWidth(text, FONT_BOLD, 11) > width:
            text = text[:-1]
        c.drawString(x, y - 13, text if text == value else text[:-1] + "…")
        y -= 30
    return y


def render_certificate_pdf(hc1: str, payload: Mapping[str, Any], expires_at: dt.datetime) -> bytes:
    """The certificate as an A4 page: holder, last dose, identifier and validity beside a large QR code."""
    buf = io.BytesIO()
    c = _canvas(buf, "Chứng nhận tiêm chủng COVID-19 / COVID-19 vaccination certificate")
    width, height = A4
    _letterhead(c, "CHỨNG NHẬN TIÊM CHỦNG COVID-19", 16, "COVID-19 Vaccination Certificate", 12, 47 * mm)

    nam = payload.get("nam", {})
    entry = (payload.get("v") or [{}])[0]
    vaccine = vaccine_by_code(str(entry.get("mp", "")))
    name = " ".join(p for p in (nam.get("fn", ""), nam.get("gn", "")) if p) or nam.get("fnt", "")
    rows = [
        ("Họ và tên", "Name", name),
        ("Ngày sinh", "Date of birth", _date_vi(str(payload.get("dob", "")))),
        ("Vắc xin", "Vaccine", vaccine.name if vaccine else str(entry.get("mp", ""))),
        ("Mũi tiêm", "Dose", f"{entry.get('dn', '')}/{entry.get('sd', '')}"),
        ("Ngày tiêm", "Date of vaccination", _date_vi(str(entry.get("dt", "")))),
        ("Nước tiêm", "Country of vaccination", str(entry.get("co", ""))),
        ("Đơn vị cấp", "Issuer", str(entry.get("is", ""))),
        ("Có giá trị đến", "Valid until", expires_at.astimezone(dt.UTC).strftime("%d/%m/%Y")),
    ]
    _rows(c, 20 * mm, height - 65 * mm, rows, 80 * mm)

    qr = ImageReader(io.BytesIO(codes.qr_png(hc1, scale=4, border=2)))
    size = 85 * mm
    c.drawImage(qr, width - 20 * mm - size, height - 65 * mm - size + 5 * mm, size, size)

    c.setFont(FONT, 8)
    c.drawString(20 * mm, 62 * mm, f"Mã chứng nhận / Certificate identifier: {entry.get('ci', '')}")
    c.setFont(FONT, 9)
    y = 45 * mm
    for line in (
        "Xuất trình kèm căn cước công dân hoặc hộ chiếu. Quét mã QR để kiểm tra chữ ký số.",
        "Show together with your ID card or passport. Scan the QR code to check the digital signature.",
        "Định dạng Chứng nhận COVID kỹ thuật số của EU / EU Digital COVID Certificate format.",
    ):
        c.drawString(20 * mm, y, line)
        y -= 5 * mm
    return _finished(c, buf)


def render_id_notice_pdf(
    name: str,
    personal_id: str,
    birth_date: PartialDate | dt.date | str,
    *,
    issued_on: dt.date | None = None,
    authority: str = "Công an phường/xã",
) -> bytes:
    """The notice of a personal identification number: name, birth date, the number as text, a Code 128
    barcode and a QR code of it (verifiers' scanners read either)."""
    birth = (
        birth_date.iso()
        if isinstance(birth_date, PartialDate)
        else birth_date.isoformat()
        if isinstance(birth_date, dt.date)
        else birth_date
    )
    buf = io.BytesIO()
    c = _canvas(buf, "Thông báo số định danh cá nhân / Personal identification number notice")
    width, height = A4
    _letterhead(c, "THÔNG BÁO SỐ ĐỊNH DANH CÁ NHÂN", 15, "Personal identification number notice", 11, 46 * mm)
    rows = [
        ("Họ và tên", "Name", name),
        ("Ngày sinh", "Date of birth", _date_vi(birth)),
        (
            "Số định danh cá nhân",
            "Personal identification number",
            " ".join((personal_id[:3], personal_id[3], personal_id[4:6], personal_id[6:])),
        ),
        ("Cơ quan thông báo", "Notified by", authority),
    ]
    if issued_on is not None:
        rows.append(("Ngày thông báo", "Date", issued_on.strftime("%d/%m/%Y")))
    y = _rows(c, 20 * mm, height - 62 * mm, rows, width - 40 * mm)

    barcode = ImageReader(io.BytesIO(codes.code128_png(personal_id, scale=3)))
    bw, bh = barcode.getSize()
    target_w = 90 * mm
    c.drawImage(barcode, 20 * mm, y - 8 * mm - target_w * bh / bw, target_w, target_w * bh / bw)
    qr = ImageReader(io.BytesIO(codes.id_qr_png(personal_id, scale=6)))
    c.drawImage(qr, width - 20 * mm - 40 * mm, y - 48 * mm, 40 * mm, 40 * mm)
    c.setFont(FONT, 9)
    c.drawString(
        20 * mm,
        y - 58 * mm,
        "Giữ giấy này cùng giấy tờ tùy thân. / Keep this notice with your identity papers.",
    )
    return _finished(c, buf)
