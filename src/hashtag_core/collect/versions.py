"""When the configured platform API versions stop being served (pure functions).

LinkedIn serves each monthly version (`YYYYMM`) for about a year after its release and then
answers 426 NONEXISTENT_VERSION. Meta publishes an end date per Graph API version; the ones we
know are listed below (an unlisted version has no warning). The worker warns at start-up when a
configured version ends within `WARN_DAYS`.
"""

from __future__ import annotations

from datetime import date, timedelta

from hashtag_core.collect.settings import CollectSettings

__all__ = ["GRAPH_END_OF_LIFE", "WARN_DAYS", "linkedin_end_of_life", "version_warnings"]

WARN_DAYS = 60
LINKEDIN_LIFETIME_MONTHS = 12
#: Graph API versions and the last day Meta serves them (Meta's changelog).
GRAPH_END_OF_LIFE: dict[str, date] = {
    "v22.0": date(2027, 5, 20),
}


def linkedin_end_of_life(version: str) -> date:
    """The first day LinkedIn no longer serves a `YYYYMM` version (release + 12 months)."""
    year, month = int(version[:4]), int(version[4:6])
    months = year * 12 + (month - 1) + LINKEDIN_LIFETIME_MONTHS
    return date(months // 12, months % 12 + 1, 1)


def version_warnings(settings: CollectSettings, today: date) -> list[str]:
    """One sentence per configured version that ends within WARN_DAYS (or has ended)."""
    found: list[str] = []
    horizon = today + timedelta(days=WARN_DAYS)
    li_end = linkedin_end_of_life(settings.linkedin_version)
    if li_end <= horizon:
        found.append(
            f"LinkedIn API version {settings.linkedin_version} "
            f"{'was sunset' if li_end <= today else 'will be sunset'} around {li_end}: "
            "set HASHTAG_COLLECT__LINKEDIN_VERSION to a newer YYYYMM version"
        )
    graph_end = GRAPH_END_OF_LIFE.get(settings.meta_api_version)
    if graph_end is not None and graph_end <= horizon:
        found.append(
            f"Meta Graph API version {settings.meta_api_version} "
            f"{'ended' if graph_end < today else 'ends'} on {graph_end}: "
            "set HASHTAG_COLLECT__META_API_VERSION to a newer version"
        )
    return found
