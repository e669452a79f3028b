"""`vaxlink keys ...` and `vaxlink verify` end to end through the command line; no database involved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaxlink.cli.main import app
from vaxlink.credentials import (
    IssuedCertificate,
    Name,
    RevocationList,
    dose_from_product,
    issue,
    load_signer,
)
from vaxlink.credentials.codes import qr_png

runner = CliRunner()
NOW = dt.datetime.now(dt.UTC)
AT = (NOW + dt.timedelta(days=30)).astimezone(dt.timezone(dt.timedelta(hours=7))).isoformat()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "keys"
    r = runner.invoke(app, ["keys", "init", "--dir", str(path)])
    assert r.exit_code == 0, r.output
    assert "kid" in r.output
    return path


@pytest.fixture(scope="module")
def cert(keys: Path) -> IssuedCertificate:
    doses = [
        dose_from_product(dt.date(2021, 10, 1), 1, "Pfizer"),
        dose_from_product(dt.date(2021, 11, 1), 2, "Pfizer"),
    ]
    # Issued now, not at NOW: the suite may reach this module long after collecting it, and the keys are
    # made when the module runs.
    return issue(Name("Trần", "Văn", "Bình"), "1975-06-30", doses, load_signer(keys))


def test_valid_certificate_exits_zero(keys: Path, cert: IssuedCertificate) -> None:
    r = runner.invoke(app, ["verify", cert.hc1, "--trust", str(keys / "trust-list.json"), "--at", AT])
    assert r.exit_code == 0, r.output
    assert "HỢP LỆ / VALID" in r.output
    assert "Trần Văn Bình" in r.output
    assert r.output.index("Chữ ký hợp lệ") < r.output.index("Valid signature")  # Vietnamese first


def test_file_picture_and_pem_inputs(keys: Path, cert: IssuedCertificate, tmp_path: Path) -> None:
    text_file = tmp_path / "code.txt"
    text_file.write_text(cert.hc1 + "\n")
    picture = tmp_path / "code.png"
    picture.write_bytes(qr_png(cert.hc1))
    for source in (text_file, picture):
        r = runner.invoke(app, ["verify", str(source), "--trust", str(keys / "trust-list.pem"), "--at", AT])
        assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["verify", "-", "--trust", str(keys / "trust-list.json"), "--at", AT], input=cert.hc1
    )
    assert r.exit_code == 0, r.output


def test_expired_is_invalid_with_the_reason(keys: Path, cert: IssuedCertificate) -> None:
    r = runner.invoke(
        app,
        ["verify", cert.hc1, "--trust", str(keys / "trust-list.json"), "--at", str(NOW.year + 2) + "-01-01"],
    )
    assert r.exit_code == 1
    assert "KHÔNG HỢP LỆ / INVALID" in r.output
    assert "Đã hết hạn" in r.output and "Expired" in r.output


def test_revoked_is_invalid(keys: Path, cert: IssuedCertificate, tmp_path: Path) -> None:
    rl = RevocationList()
    rl.revoke(cert.hashes)
    rl.save(tmp_path / "revoked.json")
    args = ["verify", cert.hc1, "--trust", str(keys / "trust-list.json"), "--at", AT]
    r = runner.invoke(app, [*args, "--revocations", str(tmp_path / "revoked.json")])
    assert r.exit_code == 1
    assert "thu hồi" in r.output and "revoked" in r.output


def test_without_trust_list_it_is_invalid(cert: IssuedCertificate) -> None:
    r = runner.invoke(app, ["verify", cert.hc1, "--at", AT])
    assert r.exit_code == 1
    assert "--trust" in r.output


@pytest.mark.parametrize("bad", ["HC1:%%%%", "not a code", "HC1:"])
def test_unusable_input_exits_two(keys: Path, bad: str) -> None:
    r = runner.invoke(app, ["verify", bad, "--trust", str(keys / "trust-list.json")])
    assert r.exit_code == 2, r.output


def test_bad_options_exit_two(keys: Path, cert: IssuedCertificate, tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{")
    r = runner.invoke(app, ["verify", cert.hc1, "--trust", str(tmp_path / "broken.json")])
    assert r.exit_code == 2
    r = runner.invoke(
        app, ["verify", cert.hc1, "--trust", str(keys / "trust-list.json"), "--at", "yesterday"]
    )
    assert r.exit_code == 2
    blank = tmp_path / "blank.png"
    blank.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    r = runner.invoke(app, ["verify", str(blank), "--trust", str(keys / "trust-list.json")])
    assert r.exit_code == 2


def test_init_twice_refuses_and_rotate_keeps_old_codes(tmp_path: Path) -> None:
    keys = tmp_path / "k"
    assert runner.invoke(app, ["keys", "init", "--dir", str(keys)]).exit_code == 0
    old = issue(
        Name("Lê", "", "Na"),
        "1980",
        [dose_from_product(dt.date(2021, 8, 1), 1, "Janssen")],
        load_signer(keys),
    )
    again = runner.invoke(app, ["keys", "init", "--dir", str(keys)])
    assert again.exit_code == 2 and "--rotate" in again.output
    assert runner.invoke(app, ["keys", "rotate", "--dir", str(keys)]).exit_code == 0
    assert runner.invoke(app, ["keys", "init", "--dir", str(keys), "--rotate"]).exit_code == 0
    assert len(list((keys / "signers").glob("*.crt.pem"))) == 3
    r = runner.invoke(app, ["verify", old.hc1, "--trust", str(keys / "trust-list.json"), "--at", AT])
    assert r.exit_code == 0, r.output
    out = tmp_path / "published"
    assert runner.invoke(app, ["keys", "export", "--dir", str(keys), "--out", str(out)]).exit_code == 0
    assert (out / "trust-list.json").exists() and (out / "trust-list.pem").exists()


def test_times_without_offset_are_vietnam_time() -> None:
    from vaxlink.cli.credentials import parse_instant

    assert parse_instant("2026-03-01T08:00") == dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC)
    assert parse_instant("2026-03-01T08:00Z") == dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    assert parse_instant("2026-03-01") == dt.datetime(2026, 2, 28, 17, 0, tzinfo=dt.UTC)


def test_keys_and_verify_use_the_installations_key_directory(tmp_path: Path, monkeypatch) -> None:
    # A newcomer's sequence: keys made where the installation keeps them, then a code of this
    # installation checked without naming any file.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VAXLINK_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("VAXLINK_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    r = runner.invoke(app, ["keys", "init"])
    assert r.exit_code == 0, r.output
    keys = tmp_path / "work" / "vaxlink-keys"
    assert (keys / "trust-list.json").is_file()
    doses = [dose_from_product(dt.date(2021, 10, 1), 1, "Pfizer")]
    cert = issue(Name("Lê", "Thị", "Hoa"), "1980-01-02", doses, load_signer(keys))
    r = runner.invoke(app, ["verify", cert.hc1, "--at", AT])
    assert r.exit_code == 0, r.output
    assert "HỢP LỆ / VALID" in r.output
    r = runner.invoke(app, ["keys", "rotate"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["keys", "export", "--out", str(tmp_path / "published")])
    assert r.exit_code == 0 and (tmp_path / "published" / "trust-list.json").is_file(), r.output


def test_serve_demo_without_a_demo_database_says_so(tmp_path: Path) -> None:
    r = runner.invoke(app, ["serve", "--demo", str(tmp_path)])
    assert r.exit_code == 2 and "no demo database" in r.output
