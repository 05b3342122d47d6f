"""Seeded demo and benchmark data: LEGOLAND-style posts with documented planted effects.

`generate_posts(DemoConfig(...))` yields reproducible `PostRecord`-shaped dicts; see
`hashtag_core.demo.generator` for the realism model and `PLANTED_EFFECTS` for the effects the
analytics are expected to recover.
"""

from hashtag_core.demo.generator import (
    DEFAULT_END,
    DEMO_ACCOUNTS,
    FRAME_SCHEMA,
    PARKS,
    PLANTED_EFFECTS,
    DemoAccount,
    DemoConfig,
    FollowerEffect,
    HashtagEffect,
    OutlierEffect,
    Park,
    PlantedEffects,
    SlotEffect,
    daily_followers,
    demo_accounts,
    generate_frame,
    generate_posts,
)

__all__ = [
    "DEFAULT_END",
    "DEMO_ACCOUNTS",
    "FRAME_SCHEMA",
    "PARKS",
    "PLANTED_EFFECTS",
    "DemoAccount",
    "DemoConfig",
    "FollowerEffect",
    "HashtagEffect",
    "OutlierEffect",
    "Park",
    "PlantedEffects",
    "SlotEffect",
    "daily_followers",
    "demo_accounts",
    "generate_frame",
    "generate_posts",
]
