"""A local stand-in for the X, Instagram, Facebook Pages and LinkedIn APIs.

Serves the seeded LEGOLAND demo posts in each platform's own HTTP shapes (paging, rate-limit
headers, error bodies) with switchable faults, so connectors can be tested and benchmarked over
real HTTP on loopback. See `hashtag_sandbox.app` for the URL layout.
"""

from hashtag_sandbox.app import create_sandbox_app
from hashtag_sandbox.config import SandboxConfig
from hashtag_sandbox.faults import FaultConfig
from hashtag_sandbox.state import Sandbox

__all__ = ["FaultConfig", "Sandbox", "SandboxConfig", "create_sandbox_app"]
