"""Each case's figures, printed as it ends and gathered into one summary table."""

from __future__ import annotations

from dataclasses import dataclass

HEADER = ("case", "attempted", "acknowledged", "lost", "duplicated", "result")


@dataclass
class CaseRow:
    """attempted: calls made; acknowledged: calls answered OK; lost: acknowledged writes (or
    effects owed) missing from Postgres or the loyalty system; duplicated: effects stored or
    delivered more than once."""

    case: str
    attempted: int = 0
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    result: str = "not run"
    notes: str = ""

    def line(self) -> str:
        return (
            f"{self.case}: attempted {self.attempted}, acknowledged {self.acknowledged}, "
            f"lost {self.lost}, duplicated {self.duplicated}"
            + (f" ({self.notes})" if self.notes else "")
        )

    def cells(self) -> tuple[str, ...]:
        return (
            self.case, str(self.attempted), str(self.acknowledged), str(self.lost),
            str(self.duplicated), self.result,
        )  # fmt: skip


def table(rows: list[CaseRow]) -> list[str]:
    """A Markdown table of the rows, columns padded to line up in a terminal too."""
    cells = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(HEADER))]

    def render(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [render(HEADER), rule, *(render(r.cells()) for r in rows)]
