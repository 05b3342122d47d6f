"""The long-running commands besides `up`: the API alone, the worker alone."""

from __future__ import annotations

import logging
from typing import Any, cast

import uvicorn
from arq import run_worker
from fastapi import FastAPI

from hashtag_api.main import create_app
from hashtag_cli.console import setup
from hashtag_cli.services import export_environment, migrate, running_services
from hashtag_core.config import Settings, get_settings
from hashtag_worker.settings import WorkerSettings, worker_options

__all__ = ["APP_FACTORY", "app_factory", "serve_api", "serve_worker"]

logger = logging.getLogger(__name__)

#: What uvicorn serves (`--factory`): the app, in a process that logs as the settings say.
APP_FACTORY = "hashtag_cli.serve:app_factory"


def app_factory() -> FastAPI:
    """The API from the environment's settings, with logging set up in this process (uvicorn
    builds the app in each of its worker processes; its own loggers go through ours)."""
    settings = get_settings()
    setup(settings)
    return create_app(settings)


def serve_api(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Migrate, then serve the API with uvicorn until SIGINT/SIGTERM."""
    with running_services(settings) as resolved:
        migrate(resolved)
        # uvicorn's worker processes build the app from the environment, so put the URLs there.
        export_environment(resolved)
        if not resolved.api_keys:
            logger.warning("HASHTAG_API_KEYS is empty: imports and updates will be refused")
        logger.info("API at http://%s:%d (%d worker process(es))", host, port, workers)
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=resolved.log_level.lower(),
            # Our logging setup (app_factory) handles uvicorn's records; the API logs each
            # request itself, with its request id, so uvicorn's access log would repeat it.
            log_config=None,
            access_log=False,
        )


def serve_worker(settings: Settings) -> None:
    """Run the arq worker until SIGINT/SIGTERM."""
    with running_services(settings, migrate_embedded=True) as resolved:
        logger.info("worker started")
        options = worker_options(resolved)
        # arq types its settings class loosely; WorkerSettings provides what it reads.
        run_worker(cast(Any, WorkerSettings), ctx={"settings": resolved}, **options)
