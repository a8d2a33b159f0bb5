from __future__ import annotations

from pathlib import Path

import pytest

from sensebutler.config import ConfigError, parse_config, secret_values

REPO = Path(__file__).resolve().parents[2]


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml", env or {})
    return [str(p) for p in info.value.problems]


def test_example_config_is_valid() -> None:
    config = parse_config((REPO / "config" / "example.yaml").read_text(), "example.yaml", {})
    assert config.influxdb.enable
    assert [s.name for s in config.qlik.servers] == ["central", "rim1"]
    assert config.qlik.servers[0].virtual_proxies == ["/", "/hdr"]


def test_an_empty_mapping_is_all_defaults_and_everything_off() -> None:
    config = parse_config("{}", "empty.yaml", {})
    assert not config.influxdb.enable
    assert not config.polling.health.enable
    assert not config.udp.log_events.enable


def test_string_at_integer_port_names_key_and_line() -> None:
    text = "qlik:\n  servers:\n    - name: a\n      host: h\n      engine_port: abc\n"
    assert problems(text) == ["line 5: qlik.servers[0].engine_port: expected an integer, got 'abc'"]


def test_misspelt_key_gets_a_hint() -> None:
    found = problems("polling:\n  helth:\n    enable: true\n")
    assert found == ["line 2: polling.helth: unknown key 'helth' (did you mean 'health'?)"]


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    (found,) = problems("mqtt:\n  zzzzzz: 1\n")
    assert "unknown key 'zzzzzz'" in found
    assert "allowed keys:" in found and "base_topic" in found


def test_every_problem_is_reported_at_once() -> None:
    text = "logging:\n  level: loud\nudp:\n  log_events:\n    port: 99999\ninfluxdb:\n  version: 4\n"
    found = problems(text)
    assert len(found) == 3
    assert found[0].startswith("line 2: logging.level:")
    assert found[1].startswith("line 5: udp.log_events.port:")
    assert found[2].startswith("line 7: influxdb.version:")


def test_yaml_syntax_error_has_a_line() -> None:
    (found,) = problems("logging:\n  level: [info\n")
    assert found.startswith("line ")
    assert "YAML syntax error" in found


def test_null_lists_mean_empty_lists() -> None:
    config = parse_config(
        "qlik:\n  servers:\n  server_tags: null\nudp:\n  log_events:\n    allowed_sources:\n", "t", {}
    )
    assert config.qlik.servers == []
    assert config.qlik.server_tags == []
    assert config.udp.log_events.allowed_sources == []


def test_disabled_feature_needs_nothing_but_enabled_one_does() -> None:
    parse_config("new_relic:\n  enable: false\n", "t", {})
    (found,) = problems("new_relic:\n  enable: true\n")
    assert found.startswith("line 2: new_relic.accounts: required while enable is true")


def test_environment_substitution_with_defaults_and_missing_variables() -> None:
    text = "influxdb:\n  url: ${INFLUX_URL}\n  v1:\n    database: ${DB:-senseops}\n"
    config = parse_config(text, "t", {"INFLUX_URL": "http://influx:8086"})
    assert config.influxdb.url == "http://influx:8086"
    assert config.influxdb.v1.database == "senseops"
    (found,) = problems(text)
    assert found.startswith("line 2: influxdb.url: environment variable INFLUX_URL is not set")


def test_environment_overrides_any_key_and_are_typed() -> None:
    env = {
        "SENSEBUTLER__INFLUXDB__V1__PASSWORD": "s3cret",
        "SENSEBUTLER__UDP__LOG_EVENTS__PORT": "19996",
        "SENSEBUTLER__POLLING__HEALTH__ENABLE": "true",
    }
    config = parse_config("influxdb:\n  enable: true\n", "t", env)
    assert config.influxdb.v1.password is not None
    assert config.influxdb.v1.password.get_secret_value() == "s3cret"
    assert config.udp.log_events.port == 19996
    assert config.polling.health.enable is True


def test_bad_environment_override_is_reported() -> None:
    (found,) = problems("{}", {"SENSEBUTLER__UDP__LOG_EVENTS__PORT": "many"})
    assert "udp.log_events.port: expected an integer, got 'many'" in found


def test_server_tags_must_match_the_declared_set() -> None:
    text = (
        "qlik:\n  server_tags: [env]\n  servers:\n"
        "    - {name: a, host: h, tags: {env: prod}}\n"
        "    - {name: b, host: h2, tags: {site: x}}\n"
    )
    (found,) = problems(text)
    assert "server 'b' lacks tag(s) env" in found and "has tag(s) site not listed" in found


def test_secret_values_are_collected() -> None:
    text = (
        "new_relic:\n  enable: true\n  accounts:\n"
        "    - {name: a, account_id: '1', insert_api_key: NRAK-123456}\n"
        "mqtt:\n  password: mqtt-pass\n"
    )
    config = parse_config(text, "t", {})
    assert secret_values(config) == {"NRAK-123456", "mqtt-pass"}


def test_max_in_flight_must_be_at_least_one() -> None:
    assert problems("delivery:\n  max_in_flight: 0\n") == [
        "line 2: delivery.max_in_flight: must be at least 1, got 0"
    ]
    assert problems("influxdb:\n  delivery:\n    max_in_flight: 17\n") == [
        "line 3: influxdb.delivery.max_in_flight: must be at most 16, got 17"
    ]
    assert parse_config("delivery:\n  max_in_flight: 4\n", "t.yaml", {}).delivery.max_in_flight == 4
    assert parse_config("{}", "t.yaml", {}).delivery.max_in_flight is None  # the destination's own
