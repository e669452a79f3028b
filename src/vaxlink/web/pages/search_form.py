"""The citizen search form, as the search page and a case's page both take it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form
from sqlalchemy.orm import Session

from vaxlink.services.access.auth import Principal
from vaxlink.services.workbench import citizen_search


def _typed(
    name: Annotated[str, Form(max_length=200)] = "",
    birth_date: Annotated[str, Form(max_length=40)] = "",
    personal_id: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> dict[str, str]:
    return {"name": name, "birth_date": birth_date, "personal_id": personal_id, "phone": phone}


# What the officer typed, shown again beside the results or the message.
Searched = Annotated[dict[str, str], Depends(_typed)]


def find_citizens(
    session: Session, who: Principal, searched: dict[str, str]
) -> list[citizen_search.CitizenHit]:
    return citizen_search.search_citizens(
        session,
        who,
        name=searched["name"],
        birth_date=searched["birth_date"],
        personal_id=searched["personal_id"],
        phone=searched["phone"],
    )
