"""Docker packaging, checked without a Docker engine: the compose file against the Compose Specification's
schema and our own rules (healthy database first, 127.0.0.1 ports, secrets from .env, every setting listed),
and the Dockerfile's shape (slim base, non-root, health check, migrations at start)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from erepwatch.settings import describe
from tests.conftest import SHARED

REPO = Path(__file__).resolve().parents[2]
SCHEMA = SHARED / "schemas" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_file_is_valid_against_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_compose_schema_rejects_a_broken_file(compose):
    # The validation above can fail: a typo in a key is caught.
    broken = {**compose, "services": {**compose["services"], "postgres": {**compose["services"]["postgres"]}}}
    broken["services"]["postgres"]["helthcheck"] = broken["services"]["postgres"].pop("healthcheck")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_compose_services_and_rules(compose):
    services = compose["services"]
    assert set(services) == {"erepwatch", "postgres", "mailpit"}
    app, db = services["erepwatch"], services["postgres"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["restart"] == "unless-stopped"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.split(":")[0] in compose["volumes"] for v in db["volumes"])  # a named volume
    assert app["env_file"] == [".env"]
    assert app["environment"]["EREPWATCH_SMTP_URL"] == "smtp://mailpit:1025"
    for service in services.values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port
    assert {p.split(":")[-1] for p in services["mailpit"]["ports"]} == {"8025"}


def test_compose_holds_no_secret_and_documents_every_setting():
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    for _key, env, _doc, _secret in describe():
        assert env in text, f"{env} is not documented in docker-compose.yml"
    written = re.findall(r"^\s*\w*PASSWORD\w*:\s*(?!\$\{)\S.*$", text, re.M)
    assert not written, f"a password is written in the compose file: {written}"
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^POSTGRES_PASSWORD=", example, re.M)
    assert ".env" in (REPO / ".dockerignore").read_text().split()


def _stages(dockerfile: str) -> list[str]:
    return re.split(r"^FROM ", dockerfile, flags=re.M)[1:]


def test_dockerfile_shape():
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    stages = _stages(text)
    assert len(stages) == 2
    assert all(stage.startswith("python:3.11-slim") for stage in stages)
    builder, final = stages
    assert "uv build" in builder
    assert "COPY --from=builder /opt/erepwatch /opt/erepwatch" in final
    for tool in ("apt-get", "pip install", "uv ", "gcc", "COPY src"):
        assert tool not in final, f"{tool!r} in the final stage"
    user = re.search(r"^USER (\S+)", final, re.M)
    assert user and user.group(1) not in ("root", "0")
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert "EREPWATCH_WEB_ADDR=0.0.0.0:8080" in final
    assert json.loads(re.search(r"^ENTRYPOINT (.+)$", final, re.M).group(1)) == ["erepwatch"]
    assert json.loads(re.search(r"^CMD (.+)$", final, re.M).group(1)) == ["run", "--migrate"]
