"""Car travel minutes between the prefectural office and the municipal offices.

The seed table gives minutes from the prefectural office to each municipality (a
planner's estimate per road). Between two municipalities there is no such table, so we
take the straight-line distance between their offices and convert it with the minutes
per kilometre that the office table itself implies (its median), which folds winding
roads and average speed into one calibrated factor. Sites without a position fall back
to going through the office, an over-estimate that is safe for buffers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

OFFICE: int | None = None  # the prefectural office, as a site
MIN_MINUTES = 10  # leaving one office and settling in at another never takes less


@dataclass(frozen=True)
class Site:
    id: int
    office_minutes: int
    latitude: float | None = None
    longitude: float | None = None


def kilometres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


class TravelTable:
    """minutes(a, b) for municipality ids, with None standing for the prefectural office."""

    def __init__(self, sites: Iterable[Site], office: tuple[float, float] | None) -> None:
        self.sites = {site.id: site for site in sites}
        self.office = office
        ratios = [
            site.office_minutes / distance
            for site in self.sites.values()
            if office and site.latitude is not None and site.longitude is not None
            if (distance := kilometres(office, (site.latitude, site.longitude))) > 5
        ]
        self.minutes_per_km = statistics.median(ratios) if ratios else 1.5
        self._cache: dict[tuple[int | None, int | None], int] = {}

    def minutes(self, a: int | None, b: int | None) -> int:
        if a == b:
            return 0
        key = (a, b) if (a or 0) <= (b or 0) else (b, a)
        if key not in self._cache:
            self._cache[key] = self._estimate(*key)
        return self._cache[key]

    def _estimate(self, a: int | None, b: int | None) -> int:
        if a is None or b is None:
            site = self.sites.get(b if a is None else a)
            return site.office_minutes if site else 0
        first, second = self.sites.get(a), self.sites.get(b)
        if first is None or second is None:
            return (first.office_minutes if first else 0) + (second.office_minutes if second else 0)
        if None in (first.latitude, first.longitude, second.latitude, second.longitude):
            return first.office_minutes + second.office_minutes
        distance = kilometres(
            (first.latitude, first.longitude),  # type: ignore[arg-type]
            (second.latitude, second.longitude),  # type: ignore[arg-type]
        )
        return max(MIN_MINUTES, round(distance * self.minutes_per_km / 5) * 5)
