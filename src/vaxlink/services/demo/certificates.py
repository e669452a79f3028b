"""The certificate round trip of the demo: issue, draw the QR code, read it back with a standard QR reader,
verify (green), revoke by a dose correction (red, with the reason), reissue (green)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vaxlink.credentials import codes, init_keys
from vaxlink.credentials.keys import ACTIVE
from vaxlink.credentials.verify import VerificationResult
from vaxlink.services.certificates import issuance as certs
from vaxlink.settings import Settings

ACTOR = "demo"
CORRECTION = "Bản ghi mũi tiêm được y tế sửa / the dose record was corrected by health"


def _verdict(result: VerificationResult) -> str:
    if result.valid:
        return "XANH – hợp lệ / GREEN – valid"
    failed = result.failures[0] if result.failures else None
    why = f": {failed.message_vi} / {failed.message_en}" if failed else ""
    return f"ĐỎ – không hợp lệ / RED – invalid{why}"


def demo_certificate_round_trip(session: Session, settings: Settings, personal_id: str) -> list[str]:
    """Printable lines (Vietnamese first) of a certificate's life for one citizen with linked doses.
    Creates the signing keys in `settings.keys_dir` when there are none. Flushes, never commits."""
    lines: list[str] = []
    if not (settings.keys_dir / ACTIVE).exists():
        init_keys(settings.keys_dir)
        lines.append(f"Đã tạo khóa ký / signing keys created in {settings.keys_dir}")
    first = certs.issue_for_citizen(session, settings, personal_id, actor=ACTOR)
    cert = first.certificate
    lines.append(
        f"Cấp chứng nhận / issued {cert.uvci} · {len(first.row.dose_record_ids)} mũi / doses · "
        f"hết hạn / expires {cert.expires_at:%Y-%m-%d}"
    )
    png = codes.qr_png(cert.hc1)
    read = codes.read_code(png)
    same = "trùng khớp / identical" if read.text == cert.hc1 else "KHÁC / DIFFERENT"
    lines.append(
        f"Mã QR {len(png):,} byte, đọc lại bằng zxing-cpp / read back with zxing-cpp ({read.format}): {same}"
    )
    lines.append(f"Kiểm tra / verify: {_verdict(certs.verifier(session, settings).verify(png))}")

    outcome = certs.revoke_for_doses(
        session, settings, first.row.dose_record_ids, CORRECTION, actor=ACTOR, reissue=True
    )
    lines.append(
        f"Sửa mũi tiêm → thu hồi / dose corrected → revoked {len(outcome.revoked)} chứng nhận / certificate(s)"
    )
    check = certs.verifier(session, settings)
    lines.append(
        f"Kiểm tra chứng nhận cũ / verify the old one: {_verdict(check.verify(png))} · lý do / reason: {CORRECTION}"
    )
    for new in outcome.reissued:
        again = codes.read_code(codes.qr_png(new.certificate.hc1)).text
        lines.append(f"Cấp lại / reissued {new.certificate.uvci}: {_verdict(check.verify(again))}")
    return lines
