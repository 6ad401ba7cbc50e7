"""Paging limits shared by the API's query models and the web pages' lists.

API parameters are validated by the pydantic models in :mod:`wellness.api.schemas`; web pages
read only ``page`` here, forgivingly.
"""

from __future__ import annotations

from flask import request

MAX_PER_PAGE = 100
#: No list has more pages; a larger number is a mistake, not a request (and overflows SQL).
MAX_PAGE = 100_000


def page_number() -> int:
    """The ``page`` of a list on a web page: anything unusable shows the first or last page."""
    value = request.args.get("page", 1, type=int) or 1
    return min(max(1, value), MAX_PAGE)
