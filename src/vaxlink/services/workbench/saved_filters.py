"""An officer's saved worklist filters: a name and the worklist's query string, kept per user in the
database so that they follow the officer from one browser or phone to another. Only the worklist's own
parameters are kept (never a name or a result), and a user keeps at most MAX_FILTERS."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench.casework import audited
from vaxlink.storage.models import SavedFilter, utcnow

MAX_FILTERS = 20
# The worklist's parameters a saved filter may carry (paging and one-off messages are not a filter).
KEPT = ("q", "kind", "reason", "min_age_days", "mine", "sort", "ward", "units")


@dataclass
class Saved:
    id: int
    name: str
    query: str


def clean_query(query: str) -> str:
    """The worklist parameters of `query` ("?kind=conflict&mine=1&cursor=..."), in a fixed order."""
    pairs = {k: v for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k in KEPT}
    return urlencode([(k, pairs[k][:80]) for k in KEPT if pairs.get(k)])


def list_filters(session: Session, who: Principal) -> list[Saved]:
    return [
        Saved(f.id, f.name, f.query)
        for f in session.scalars(
            select(SavedFilter).where(SavedFilter.user_id == who.user_id).order_by(SavedFilter.name)
        )
    ]


def save_filter(session: Session, who: Principal, name: str, query: str) -> Saved:
    """Keep the filter under `name`; a filter of the same name is replaced."""
    name = " ".join((name or "").split())[:40]
    if not name:
        raise Invalid("Cần đặt tên cho cách xem", "give the filter a name", "NAME_REQUIRED")
    kept = clean_query(query)
    found = session.scalar(
        select(SavedFilter).where(SavedFilter.user_id == who.user_id, SavedFilter.name == name)
    )
    if found is None:
        n = session.scalar(
            select(func.count()).select_from(SavedFilter).where(SavedFilter.user_id == who.user_id)
        )
        if (n or 0) >= MAX_FILTERS:
            raise Invalid(
                f"Chỉ ghi nhớ được {MAX_FILTERS} cách xem; hãy xóa bớt",
                f"at most {MAX_FILTERS} saved filters; delete one first",
                "TOO_MANY_FILTERS",
            )
        found = SavedFilter(user_id=who.user_id, name=name, query=kept, created_at=utcnow())
        session.add(found)
    else:
        found.query = kept
    session.flush()
    audited(session, who, AuditAction.WORKLIST_FILTER_SAVED, "saved_filter", found.id)
    return Saved(found.id, found.name, found.query)


def delete_filter(session: Session, who: Principal, filter_id: int) -> None:
    """Forget one of the user's own filters (another user's, or none, is left alone)."""
    session.execute(
        delete(SavedFilter).where(SavedFilter.id == filter_id, SavedFilter.user_id == who.user_id)
    )
    audited(session, who, AuditAction.WORKLIST_FILTER_DELETED, "saved_filter", filter_id)
