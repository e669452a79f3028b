"""Set-based integrity checks of the references the bulk tables keep without foreign keys.

dose_record, match_result and citizen_status are written a batch at a time by the ingest; PostgreSQL
would check a foreign key with one trigger call per row (over a minute for a province's batch), so these
references are checked here instead, each with one anti-join: `vaxlink db check`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from vaxlink.domain.outcomes import LINKED_SQL

# name → (explanation, SELECT count(*) of the offending rows)
CHECKS: dict[str, tuple[str, str]] = {
    "dose_record.batch_id": (
        "bản ghi mũi tiêm không thuộc lô nào / dose records of no batch",
        "SELECT count(*) FROM dose_record d WHERE NOT EXISTS (SELECT 1 FROM batch b WHERE b.id = d.batch_id)",
    ),
    "match_result.dose_record_id": (
        "kết quả đối soát của bản ghi không tồn tại / results of missing dose records",
        "SELECT count(*) FROM match_result m "
        "WHERE NOT EXISTS (SELECT 1 FROM dose_record d WHERE d.id = m.dose_record_id)",
    ),
    "match_result.citizen_id": (
        "mũi tiêm gắn với công dân không tồn tại / doses linked to missing citizens",
        "SELECT count(*) FROM match_result m WHERE m.citizen_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM citizen c WHERE c.id = m.citizen_id)",
    ),
    "match_result.candidate_citizen_id": (
        "ứng viên không tồn tại / candidates that do not exist",
        "SELECT count(*) FROM match_result m WHERE m.candidate_citizen_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM citizen c WHERE c.id = m.candidate_citizen_id)",
    ),
    "citizen_status.citizen_id": (
        "trạng thái của công dân không tồn tại / status rows of missing citizens",
        "SELECT count(*) FROM citizen_status s WHERE NOT EXISTS (SELECT 1 FROM citizen c WHERE c.id = s.citizen_id)",
    ),
    "dose_record.latest": (
        "bản ghi có nhiều hơn một phiên bản mới nhất / records with more than one latest version",
        "SELECT count(*) FROM (SELECT source, record_id FROM dose_record WHERE is_latest "
        "GROUP BY source, record_id HAVING count(*) > 1) x",
    ),
    "match_result.linked_without_citizen": (
        "kết quả 'đã gắn' không có công dân / linked results without a citizen",
        f"SELECT count(*) FROM match_result WHERE outcome IN {LINKED_SQL} AND citizen_id IS NULL",
    ),
    "work_case.without_desk": (
        "hồ sơ đang mở không thuộc phường/xã hay hàng chờ tỉnh nào / open cases in no ward's and no "
        "province's worklist",
        "SELECT count(*) FROM work_case k WHERE k.status <> 'closed' AND k.province_code IS NULL "
        "AND (k.ward_code IS NULL OR NOT EXISTS (SELECT 1 FROM admin_unit u WHERE u.structure = k.ward_units "
        "AND u.level = 'ward' AND u.code = k.ward_code))",
    ),
}


@dataclass(frozen=True)
class Finding:
    name: str
    explanation: str
    rows: int


def check_integrity(conn: Connection) -> list[Finding]:
    """Every check with the number of offending rows (0 everywhere on a sound database)."""
    return [
        Finding(name, explanation, int(conn.exec_driver_sql(sql).scalar_one()))
        for name, (explanation, sql) in CHECKS.items()
    ]
