"""Run the sandbox on loopback: `python -m hashtag_sandbox --port 8900`.

The data is the seeded demo (`--posts`, `--seed`) over `--days` ending at `--end` (default:
now). The same options give the same accounts, tokens and post ids, so a sandbox restarted
with them serves what an earlier run served.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

import uvicorn

from hashtag_sandbox.app import create_sandbox_app
from hashtag_sandbox.config import SandboxConfig
from hashtag_sandbox.faults import FaultConfig


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2026-06-01T00:00Z")
    return value


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hashtag_sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--posts", type=int, default=2000, help="demo posts to generate")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--days", type=int, default=365, help="days of history")
    parser.add_argument(
        "--end", type=_aware, default=None, help="end of the history, ISO 8601 (default: now)"
    )
    parser.add_argument(
        "--instagram-follower-days",
        type=int,
        default=30,
        help="how far back Instagram's daily follower_count reaches (Meta: 30; 0 = all)",
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every request")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (loopback by default: it publishes its fake tokens)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's (info logs every request)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until interrupted."""
    args = _args(argv)
    config = SandboxConfig(
        posts=args.posts,
        seed=args.seed,
        days=args.days,
        end=args.end,
        instagram_follower_days=args.instagram_follower_days or None,
        faults=FaultConfig(latency_ms=args.latency_ms),
    )
    root = f"http://127.0.0.1:{args.port}"
    sys.stdout.write(
        f"sandbox: X {root}/x, Meta {root}/meta, LinkedIn {root}/linkedin; "
        f"accounts and tokens: GET {root}/_sandbox/state\n"
    )
    sys.stdout.flush()
    # Loopback unless told otherwise (compose's private network): the sandbox publishes its
    # (fake) tokens on /_sandbox/state.
    uvicorn.run(
        create_sandbox_app(config), host=args.host, port=args.port, log_level=args.log_level
    )


if __name__ == "__main__":
    main()
