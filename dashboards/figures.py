"""Charts, tables, key figures and CSV rows from a privacy release: pure functions of the
release and the language, so tests call them directly and nothing here can reach raw data.

A suppressed cell is never drawn as zero: it has no bar or point, and the text "fewer than k"
stands where it would be, in the chart, its hover text and the table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from dash import html
from flask_babel import format_currency, format_decimal, format_percent
from flask_babel import gettext as _

from wellness.analytics.privacy import CellOut, Release

#: Axis range per unit where values are bounded; other units scale to the data.
RANGES: dict[str, tuple[float, float]] = {
    "share": (0.0, 1.0),
    "NRS": (0.0, 10.0),
    "NRS change": (-10.0, 10.0),
    "points": (0.0, 100.0),
}
#: Plotly's decimal and thousands separators per language.
SEPARATORS = {"de": ",.", "en": ".,"}
ACCENT = "#0b6e4f"
MUTED = "#6b7280"


def axis_title(unit: str) -> str:
    titles = {
        "share": _("Share of people in percent"),
        "NRS": _("Pain (NRS 0-10)"),
        "NRS change": _("Change in pain (NRS points)"),
        "points": _("Score (0-100)"),
        "EUR": _("EUR per participant"),
        "sessions/week": _("Sessions per week"),
        "days": _("Days"),
    }
    return titles.get(unit, unit)


def format_value(value: float, unit: str) -> str:
    if unit == "share":
        return str(format_percent(value, "#,##0 %"))
    if unit == "EUR":
        return str(format_currency(value, "EUR"))
    if unit in ("points", "days"):
        return str(format_decimal(value, "#,##0"))
    if unit == "NRS change":
        return str(format_decimal(value, "+0.0;-0.0"))
    return str(format_decimal(value, "#,##0.0"))


def fewer_than(k: int) -> str:
    return _("fewer than %(k)s", k=k)


def cell_text(cell: CellOut, unit: str, k: int) -> str:
    """The cell as one line: value (with its interval) and group size, or "fewer than k"."""
    if cell.suppressed or cell.value is None:
        return _("fewer than %(k)s people", k=k)
    text = format_value(cell.value, unit)
    if cell.ci is not None:
        text += " " + _(
            "(95%% interval %(low)s to %(high)s)",
            low=format_value(cell.ci[0], unit),
            high=format_value(cell.ci[1], unit),
        )
    return f"{text}, n = {format_decimal(cell.n or 0, '#,##0')}"


def figure(
    release: Release,
    unit: str,
    title: str,
    *,
    over_time: bool,
    language: str,
    reference: tuple[float, str] | None = None,
) -> go.Figure:
    """A bar chart of groups or a line over time, with the noise interval as error bars, and
    optionally a dashed reference line (value, label), such as the yearly budget."""
    cells = release.cells
    names = [cell.group.name if cell.group else "" for cell in cells]
    values = [None if cell.suppressed else cell.value for cell in cells]
    upper = [
        (cell.ci[1] - cell.value) if cell.ci and cell.value is not None else 0 for cell in cells
    ]
    lower = [
        (cell.value - cell.ci[0]) if cell.ci and cell.value is not None else 0 for cell in cells
    ]
    hover = [cell_text(cell, unit, release.k) for cell in cells]
    error = {
        "type": "data",
        "symmetric": False,
        "array": upper,
        "arrayminus": lower,
        "visible": release.noisy,
        "color": MUTED,
    }
    trace: go.Bar | go.Scatter
    if over_time:
        trace = go.Scatter(
            x=names,
            y=values,
            mode="lines+markers",
            line={"color": ACCENT, "width": 3},
            error_y=error,
            hovertext=hover,
            hoverinfo="x+text",
            connectgaps=False,
        )
    else:
        trace = go.Bar(
            x=names,
            y=values,
            marker_color=ACCENT,
            error_y=error,
            hovertext=hover,
            hoverinfo="x+text",
        )
    fig = go.Figure(trace)
    bounds = RANGES.get(unit)
    low_mark = bounds[0] if bounds else 0
    for name, cell in zip(names, cells, strict=True):
        if cell.suppressed:
            fig.add_annotation(
                x=name,
                y=low_mark,
                yanchor="bottom",
                text=fewer_than(release.k),
                showarrow=False,
                textangle=-90,
                font={"color": MUTED},
            )
    if reference is not None:
        fig.add_hline(
            y=reference[0],
            line_dash="dash",
            line_color=MUTED,
            annotation_text=reference[1],
            annotation_position="top left",
        )
    fig.update_layout(
        title={"text": title, "font": {"size": 16}},
        separators=SEPARATORS[language],
        margin={"l": 60, "r": 20, "t": 60, "b": 60},
        height=380,
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        showlegend=False,
    )
    fig.update_yaxes(
        title_text=axis_title(unit),
        range=list(bounds) if bounds else None,
        rangemode="tozero",
        tickformat=".0%" if unit == "share" else None,
        gridcolor="#e5e7eb",
        zeroline=True,
    )
    fig.update_xaxes(type="category")
    return fig


def table(release: Release, unit: str, group_label: str) -> html.Table:
    """The chart's numbers as a table: the text alternative for screen readers and the eye."""
    header = html.Tr(
        [
            html.Th(group_label, scope="col"),
            html.Th(_("Value"), scope="col"),
            html.Th(_("People (n)"), scope="col"),
        ]
    )
    rows = [_table_row(cell, unit, release.k) for cell in [*release.cells, release.total]]
    return html.Table([html.Thead(header), html.Tbody(rows)], className="aggregate-table")


def _table_row(cell: CellOut, unit: str, k: int) -> html.Tr:
    name = cell.group.name if cell.group else _("All")
    if cell.suppressed or cell.value is None:
        return html.Tr(
            [
                html.Th(name, scope="row"),
                html.Td(fewer_than(k), colSpan=2, className="suppressed"),
            ]
        )
    value = format_value(cell.value, unit)
    if cell.ci is not None:
        value += (
            " (" + format_value(cell.ci[0], unit) + " – " + format_value(cell.ci[1], unit) + ")"
        )
    return html.Tr(
        [
            html.Th(name, scope="row"),
            html.Td(value),
            html.Td(str(format_decimal(cell.n or 0, "#,##0"))),
        ]
    )


def csv_rows(release: Release, group_label: str) -> list[list[str | float | int | None]]:
    """Rows of the aggregate download: plain numbers (so spreadsheets can compute with them),
    the total last, suppressed cells spelled out rather than left blank."""
    rows: list[list[str | float | int | None]] = [
        [
            group_label,
            _("Value"),
            _("95 percent interval from"),
            _("95 percent interval to"),
            _("People (n)"),
            _("Note"),
        ]
    ]
    for cell in [*release.cells, release.total]:
        name = cell.group.name if cell.group else _("All")
        if cell.suppressed:
            rows.append([name, None, None, None, None, _("fewer than %(k)s people", k=release.k)])
            continue
        low, high = cell.ci if cell.ci else (None, None)
        note = _("with noise (differential privacy)") if release.noisy else ""
        rows.append([name, cell.value, low, high, cell.n, note])
    return rows


@dataclass(frozen=True)
class Trend:
    """A key figure: the latest shown cell, and its change since the shown cell before."""

    current: CellOut | None
    previous: CellOut | None

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        if self.current.value is None or self.previous.value is None:
            return None
        return self.current.value - self.previous.value


def trend(cells: Sequence[CellOut]) -> Trend:
    """The last two cells over time; a suppressed latest cell is shown as such, not skipped,
    so HR never mistakes an older quarter for the current one."""
    if not cells:
        return Trend(None, None)
    current = cells[-1]
    previous = cells[-2] if len(cells) > 1 and not cells[-2].suppressed else None
    return Trend(current, previous)


def arrow(change: float | None) -> str:
    if change is None:
        return ""
    if abs(change) < 1e-9:
        return "→"
    return "↑" if change > 0 else "↓"
