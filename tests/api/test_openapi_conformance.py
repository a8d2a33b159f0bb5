"""schemathesis against sensebutler's own OpenAPI document, over HTTP to a running process.

Every operation gets generated requests (valid and invalid); each answer must be documented, match
its schema, and never be a 5xx. Bounded: a few examples per operation.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from ruamel.yaml import YAML
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.support import ADMIN_KEY, api_config
from tests.fixtures.net import free_tcp_port
from tests.fixtures.servers import ServerProcess

#: operations that look a name up: an unknown namespace, key or schedule is 400, as in Butler (load
#: scripts test for it), so a schema-valid request naming something that does not exist is refused
_LOOKUP_PATHS = re.compile(r"/v4/(keyvalues|keylist|schedules)")
#: no approved directories, no MQTT, no Slack webhook, no New Relic account here: valid requests are refused (403/400/503)
_REFUSING_PATHS = re.compile(r"/v4/(file|createdir|mqttpublishmessage|slackpostmessage|newrelic)")
#: answer 503 by design here (MQTT off, no webhook): documented, so only the 5xx check is left out
_UNAVAILABLE_PATHS = re.compile(r"/v4/(mqttpublishmessage|slackpostmessage)")
_REFUSING_SWITCHES = {
    "file_copy": True,
    "file_move": True,
    "file_delete": True,
    "create_dir": True,
    "create_dir_qvd": True,
    "mqtt_publish_message": True,
    "slack_post_message": True,
    "active_user_count": True,
    "active_users": True,
    "new_relic_event": True,
    "new_relic_metric": True,
}


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("openapi")
    port = free_tcp_port()
    config = api_config(workdir, rate_limit={"enable": False})
    config["api"]["endpoints"] = {**config["api"]["endpoints"], **_REFUSING_SWITCHES}
    config["web"]["listeners"]["main"]["port"] = port
    path = workdir / "config.yaml"
    with path.open("w") as handle:
        YAML().dump(config, handle)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/health", timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    process = ServerProcess(
        "sensebutler",
        [sys.executable, "-m", "sensebutler", "run", "-c", str(path)],
        workdir / "out.log",
        ready,
        startup_timeout=60,
    )
    process.start()
    try:
        yield url
    finally:
        process.stop()


def test_every_operation_conforms(api_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api_url}/documentation/json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def conforms(case: Any) -> None:
            refusing = _LOOKUP_PATHS.search(case.operation.path) or _REFUSING_PATHS.search(
                case.operation.path
            )
            excluded = [positive_data_acceptance] if refusing else []
            if _UNAVAILABLE_PATHS.search(case.operation.path):
                excluded.append(not_a_server_error)
            case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, excluded_checks=excluded)

        try:
            conforms()
        except BaseException as exc:  # collect every operation's problem, then fail once
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_document_is_served_with_every_operation_of_this_part(api_url: str) -> None:
    spec = httpx.get(f"{api_url}/documentation/json", trust_env=False).json()
    assert spec["info"]["title"] == "sensebutler API"
    assert len(spec["paths"]) >= 14
