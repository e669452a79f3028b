"""Rich progress display for long commands, fed by the services' (stage, done, total) callbacks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

STAGES = {
    "read": "Đọc tệp / reading",
    "check": "Kiểm tra / validating",
    "load": "Nạp dữ liệu / loading",
    "merge": "Hợp nhất / merging",
    "simulate": "Mô phỏng / simulating",
    "match": "Đối chiếu / matching",
    "write": "Ghi kết quả / writing",
}


class Callback(Protocol):
    def __call__(self, stage: str, done: float, total: float | None) -> None: ...


@contextmanager
def progress_bar(console: Console) -> Iterator[Callback]:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: float, total: float | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
