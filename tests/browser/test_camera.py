"""The verifier's page reads a QR code through the phone's camera: Chromium's fake camera plays a video of
a chip card's QR code, the page decodes it with the jsQR shipped in static/vendor and shows the verdict."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import segno
from PIL import Image
from playwright.sync_api import BrowserType, expect
from sqlalchemy import create_engine, select

from tests.browser.conftest import ARGS, PASSWORDS, Site
from vaxlink.storage.models import Citizen


def qr_video(text: str, path: Path, frames: int = 20) -> Path:
    """A YUV4MPEG2 video (Chromium's fake camera format) of a QR code on white."""
    width, height = 640, 480
    qr = segno.make(text, error="m")
    out = Path(path.parent / "qr.png")
    qr.save(out, scale=8, border=4)
    picture = Image.open(out).convert("L")
    side = min(height - 40, picture.width)
    picture = picture.resize((side, side), Image.NEAREST)
    canvas = Image.new("L", (width, height), 255)
    canvas.paste(picture, ((width - side) // 2, (height - side) // 2))
    y = np.asarray(canvas, dtype=np.uint8).tobytes()
    uv = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + y + uv + uv)
    return path


def test_verifier_scans_a_chip_card_with_the_camera(browser_type: BrowserType, site: Site, tmp_path: Path):
    engine = create_engine(site.db_url)
    with engine.connect() as c:
        person = c.execute(
            select(Citizen.personal_id, Citizen.full_name, Citizen.birth_date, Citizen.sex)
            .where(Citizen.birth_precision == "day")
            .order_by(Citizen.id.desc())
            .limit(1)
        ).one()
    engine.dispose()
    sex = "Nam" if person.sex == "M" else "Nữ"
    card = f"{person.personal_id}||{person.full_name}|{person.birth_date:%d%m%Y}|{sex}|Bà Rịa|01012022"
    video = qr_video(card, tmp_path / "card.y4m")
    browser = browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[
            *ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        context.grant_permissions(["camera"], origin=site.url)
        page = context.new_page()
        page.goto(f"{site.url}/login")
        page.get_by_label("Tên đăng nhập").fill("kiem_tra")
        page.get_by_label("Mật khẩu").fill(PASSWORDS["kiem_tra"])
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(re.compile(r".*/verify$"))
        page.get_by_role("button", name="Quét bằng camera").click()
        verdict = page.locator("#verdict")
        expect(verdict).to_be_visible(timeout=20_000)
        expect(verdict).to_contain_text(person.full_name)
    finally:
        browser.close()
