"""Listings that always end, whatever the vendor's pages say.

Every listing stops where the vendor says it is complete (no next token, the last page number,
an empty page). `PageGuard` adds the ends a vendor cannot be trusted to give: a page that
repeats a token seen before or brings no id not seen before ends the listing, and no listing
reads more than `MAX_PAGES` pages. Each of those early stops is logged, once, with the action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

# Pages one listing reads at most: 1,000 pages of 100 (ICE, CI) to 500 (DataWorks) items is far
# beyond any listing a task needs, and a bound on a vendor that never says "last page".
MAX_PAGES = 1000

T = TypeVar("T")


class PageGuard:
    """Where a listing is: pages read, tokens and ids seen; says whether to ask for another page."""

    def __init__(
        self,
        log: logging.Logger | logging.LoggerAdapter,
        vendor: str,
        action: str,
        max_pages: int | None = None,
        limit: int | None = None,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        self.log = log
        self.vendor = vendor
        self.action = action
        self.max_pages = max_pages or MAX_PAGES
        # The caller's bound on items: `fresh` hands out no more, and `more` then says stop.
        self.limit = limit
        self.pages = 0
        self.new_on_page = 0
        self.items = 0
        self._tokens: set[str] = set()
        self._ids: set[Hashable] = set()

    def fresh(
        self,
        items: Iterable[T],
        key: Callable[[T], Hashable | None],
        keep: Callable[[T], bool] | None = None,
    ) -> list[T]:
        """One page read: its items whose id was not seen before (items without an id all count).

        `keep` drops items the caller does not want (a filter the vendor may not apply): they
        still count as new, so a page of them does not end the listing.
        """
        self.pages += 1
        out: list[T] = []
        new = 0
        for item in items:
            item_id = key(item)
            if item_id is not None:
                if item_id in self._ids:
                    continue
                self._ids.add(item_id)
            new += 1
            if keep is None or keep(item):
                out.append(item)
        self.new_on_page = new
        if self.limit is not None:
            out = out[: max(self.limit - self.items, 0)]
        self.items += len(out)
        return out

    @property
    def full(self) -> bool:
        """The caller's `limit` of items has been handed out."""
        return self.limit is not None and self.items >= self.limit

    def more(self, token: str | None = None) -> bool:
        """After the vendor said there is a next page (`token` for token paging): read it?"""
        if self.full:
            return False
        if self.new_on_page == 0:
            return self._stop(f"page {self.pages} brought no new ids")
        if token is not None:
            if token in self._tokens:
                return self._stop(f"page {self.pages} repeated the next-page token {token!r}")
            self._tokens.add(token)
        if self.pages >= self.max_pages:
            return self._stop(f"it reached the maximum of {self.max_pages} pages")
        return True

    def _stop(self, why: str) -> bool:
        self.log.warning(
            "%s %s listing stopped early after %d pages and %d items: %s",
            self.vendor,
            self.action,
            self.pages,
            self.items,
            why,
        )
        return False
