"""compose.yaml against the Compose Specification's JSON schema, and what an operator relies on:
health checks, restart policies, a one-shot migration before the API and workers, a scalable
worker, settings that exist, and an image that runs as a non-root user.

The schema is the one `check-jsonschema` ships (`vendor.compose-spec`, refreshed with each
release of that package), so the test needs no network.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import check_jsonschema
import jsonschema
import pytest
import yaml

from hashtag_core.config import Settings
from hashtag_core.migrate import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "compose.yaml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
SCHEMA = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    """A service with the `x-app` anchor merged in (yaml.safe_load resolves `<<`)."""
    found: dict[str, Any] = compose["services"][name]
    return found


def test_compose_file_is_valid_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]

    assert errors == []


def test_the_schema_check_rejects_a_broken_file(tmp_path: Path) -> None:
    """The validation can fail: a misspelt key is caught by the same check CI runs."""
    broken = COMPOSE.read_text(encoding="utf-8").replace(
        "restart: unless-stopped", "restrat: no", 1
    )
    path = tmp_path / "compose.yaml"
    path.write_text(broken, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
        + [str(path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1, result.stdout
    assert "restrat" in result.stdout


def test_services_start_in_order_and_recover(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "sandbox"} <= set(services)
    for name in ("postgres", "redis", "api", "worker"):
        assert "healthcheck" in services[name], name
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["command"] == ["hashtag-analysis", "migrate"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["sandbox"]["profiles"] == ["sandbox"]  # optional


def test_the_worker_scales(compose: dict[str, Any]) -> None:
    """`--scale worker=N` needs no fixed name and no published host port."""
    worker = _service(compose, "worker")
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["environment"]["HASHTAG_WORKER_METRICS_PORT"] == "9100"
    assert "9100" in worker["expose"]
    assert "/metrics" in " ".join(worker["healthcheck"]["test"])


def test_every_setting_compose_sets_exists(compose: dict[str, Any]) -> None:
    """A misspelt HASHTAG_ variable would be ignored silently by the service."""
    fields = {f"HASHTAG_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("HASHTAG_"):
                top = variable.split("__", 1)[0]
                assert top in fields, f"{name}: {variable} is not a setting"


def test_config_comes_from_dot_env_and_api_workers_are_configurable(
    compose: dict[str, Any],
) -> None:
    api = _service(compose, "api")
    assert api["env_file"] == [{"path": ".env", "required": False}]
    assert "--workers" in api["command"]
    assert "${API_WORKERS" in " ".join(api["command"])


def test_the_image_is_multi_stage_uv_and_not_root() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, flags=re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)

    assert len(stages) >= 2
    assert "uv sync --frozen --no-dev" in text
    assert "COPY --from=builder" in text
    assert users
    assert users[-1] not in ("root", "0")
