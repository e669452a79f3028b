"""Certificate throughput on one core: full `HC1:` verifications per second, and issuing per second.

A verification is the whole chain (prefix, Base45, zlib, COSE, CWT, kid, ES256 signature, validity,
revocation against a list, JSON schema, value sets, key usage) on distinct certificates, so no step can
profit from having seen the same code before.

    uv run python bench/bench_verify.py [--certificates 500] [--seconds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from vaxlink.credentials import (
    HashType,
    Name,
    RevocationList,
    TrustList,
    Verifier,
    dose_from_product,
    init_keys,
    issue,
    load_signer,
)
from vaxlink.credentials.keys import TRUST_JSON

NAMES = [
    ("Nguyễn", "Thị Thu", "Hà"),
    ("Trần", "Văn", "Bình"),
    ("Lê", "Hoàng", "Nam"),
    ("Phạm", "Ngọc", "Ánh"),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--certificates", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys"
        init_keys(keys)
        signer = load_signer(keys)
        now = dt.datetime.now(dt.UTC)

        t0, c0 = time.perf_counter(), time.process_time()
        issued = []
        for i in range(args.certificates):
            fn, mn, gn = NAMES[i % len(NAMES)]
            doses = [
                dose_from_product(dt.date(2021, 9, 1) + dt.timedelta(days=i % 60), 1, "EU/1/21/1529"),
                dose_from_product(dt.date(2021, 11, 1) + dt.timedelta(days=i % 60), 2, "EU/1/21/1529"),
            ]
            issued.append(
                issue(Name(fn, mn, gn), f"{1950 + i % 50}-0{1 + i % 9}-1{i % 10}", doses, signer, now=now)
            )
        issue_rate = args.certificates / (time.perf_counter() - t0)
        issue_cpu_rate = args.certificates / (time.process_time() - c0)

        # A realistic list: a few thousand revoked certificates, none of them the ones verified here.
        revoked = RevocationList()
        for i in range(5000):
            revoked.add(HashType.SIGNATURE, i.to_bytes(16, "big"))
        verifier = Verifier(TrustList.load(keys / TRUST_JSON), revoked)
        at = now + dt.timedelta(days=30)
        texts = [c.hc1 for c in issued]
        assert all(verifier.verify(t, at=at).valid for t in texts)

        done, t0, c0 = 0, time.perf_counter(), time.process_time()
        best = float("inf")
        while time.perf_counter() - t0 < args.seconds:
            r0 = time.perf_counter()
            for text in texts:
                verifier.verify(text, at=at)
            best = min(best, time.perf_counter() - r0)
            done += len(texts)
        verify_rate = done / (time.perf_counter() - t0)
        verify_cpu_rate = done / (time.process_time() - c0)
        verify_best = len(texts) / best

    # Wall-clock rates drop when other work shares the core; per CPU-second rates do not.
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"issue:  {issue_cpu_rate:8,.0f} per CPU-second, {issue_rate:8,.0f}/s wall (payload, ES256, CBOR, zlib, Base45)"
    )
    print(
        f"verify: {verify_cpu_rate:8,.0f} per CPU-second, {verify_rate:8,.0f}/s wall, "
        f"{verify_best:,.0f}/s in the best round (full HC1 verification, one core, {len(texts)} distinct codes)"
    )
    print("target: verify >= 2,000/s on one core")


if __name__ == "__main__":
    main()
