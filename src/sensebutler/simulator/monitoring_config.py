"""A sensebutler configuration that monitors a running simulator.

Used by ``sensebutler demo``, ``sensebutler simulator --write-config FILE`` and the end-to-end tests:
it is a plain config dict (the same keys as ``config/example.yaml``); :func:`site_config` makes it
complete (sinks included) and :func:`config_yaml` writes it as a commented file a user can edit,
verify and run.
"""

from __future__ import annotations

import io
import ipaddress
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from sensebutler.simulator.simulator import SimulatorInfo

#: Butler SOS's Prometheus port
PROMETHEUS_PORT = 9842
INFLUXDB_URL = "http://127.0.0.1:8086"

_SECTION_COMMENTS = {
    "state": "spools and state that survive a restart",
    "qlik": "the simulator's exported certificates, its QRS and every node to poll",
    "polling": "engine healthcheck, proxy sessions and app names, every few seconds",
    "udp": "the log4net events the simulator sends (its --udp-*-target options point here)",
    "prometheus": "Prometheus scrapes /metrics on the web listener 'metrics'",
    "web": "the HTTP listeners; 'metrics' is on Butler SOS's Prometheus port 9842",
    "influxdb": "InfluxDB 1.x; enable it (or start the simulator with --influxdb-url) to write there",
    "self_metrics": "sensebutler's own uptime, memory and pipeline counters",
}


def monitoring_config(
    info: SimulatorInfo,
    *,
    state_dir: Path,
    udp_host: str = "127.0.0.1",
    udp_ports: tuple[int, int, int] | None = None,
    interval_s: float = 5.0,
) -> dict[str, Any]:
    """Poll every simulated node; listen for its log, user and task datagrams on ``udp_ports``.

    No sink is enabled; callers add the ones they want (``config["influxdb"] = {...}``). Every node
    is reached at the simulator's address. With per-node certificates (the simulator's default) no
    certificate names that address, as no Sense certificate names a node's IP address, so the
    config checks the server certificate against the root CA but not the host name
    (``verify_hostname: false``, what a Sense admin connecting by address needs too); with lenient
    certificates it checks both. The ``X-Qlik-User`` is the default, ``INTERNAL\\sa_repository``.
    """
    certs = info.certificates
    servers = [
        {
            "name": node.name,
            "host": info.host if info.host not in ("0.0.0.0", "::") else "127.0.0.1",
            "description": f"simulated node {node.host_name}",
            "engine_port": node.engine_port,
            "proxy_port": node.proxy_port or 4243,
            "sessions": node.proxy_port is not None,
            "virtual_proxies": ["/" + vp.strip("/") for vp in node.virtual_proxies] or ["/"],
            "tags": {"central": node.central},
        }
        for node in info.nodes
    ]
    config: dict[str, Any] = {
        "state": {"dir": str(state_dir)},
        "qlik": {
            "certificates": {
                "client_cert": str(certs.client),
                "client_key": str(certs.client_key),
                "ca": str(certs.root),
                "verify_hostname": info.lenient_certificates,
            },
            "qrs": {"host": "127.0.0.1", "port": info.qrs_port},
            "server_tags": ["central"],
            "servers": servers,
        },
        "polling": {
            "health": {"enable": True, "interval_s": interval_s, "jitter_s": 0.5},
            "sessions": {"enable": True, "interval_s": interval_s, "jitter_s": 0.5},
            "app_names": {"enable": True, "interval_s": max(interval_s * 4, 10.0)},
        },
        "self_metrics": {"enable": True, "interval_s": max(interval_s * 2, 10.0)},
    }
    if udp_ports is not None:
        log_port, user_port, task_port = udp_ports
        config["udp"] = {
            "metrics": {"enable": True, "interval_s": max(interval_s * 2, 10.0)},
            "log_events": {
                "enable": True,
                "host": udp_host,
                "port": log_port,
                "engine_performance_monitor": {
                    "enable": True,
                    "monitorFilter": {"allApps": {"enable": True}},
                },
            },
            "user_events": {"enable": True, "host": udp_host, "port": user_port},
            "task_events": {"enable": True, "host": udp_host, "port": task_port},
        }
    return config


def site_config(
    info: SimulatorInfo,
    *,
    state_dir: Path,
    influxdb_url: str | None = None,
    prometheus_port: int = PROMETHEUS_PORT,
    interval_s: float = 10.0,
) -> dict[str, Any]:
    """A ready configuration for the running site: every node polled, a UDP input where each of the
    simulator's UDP targets points (none when it sends none), Prometheus on, InfluxDB on when
    ``influxdb_url`` is given (otherwise present and off, so one line switches it on)."""
    targets = info.udp_targets
    sent = [target for target in (targets.log, targets.user, targets.task) if target is not None]
    udp_ports = None
    if targets.log and targets.user and targets.task:
        udp_ports = (targets.log[1], targets.user[1], targets.task[1])
    config = monitoring_config(
        info,
        state_dir=state_dir,
        udp_host=_listen_host(sent[0][0]) if sent else "127.0.0.1",
        udp_ports=udp_ports,
        interval_s=interval_s,
    )
    if udp_ports is None and sent:  # only some kinds are sent: listen for those
        config["udp"] = {
            "metrics": {"enable": True},
            **{
                f"{kind}_events": {"enable": True, "host": _listen_host(target[0]), "port": target[1]}
                for kind, target in (("log", targets.log), ("user", targets.user), ("task", targets.task))
                if target is not None
            },
        }
    config["prometheus"] = {"enable": True, "listener": "metrics"}
    config["web"] = {"listeners": {"metrics": {"host": "127.0.0.1", "port": prometheus_port}}}
    config["influxdb"] = {
        "enable": influxdb_url is not None,
        "version": 1,
        "url": influxdb_url or INFLUXDB_URL,
        "v1": {"database": "senseops"},
    }
    return config


def _listen_host(target_host: str) -> str:
    """Where to bind for datagrams sent to ``target_host``: that address when it is a loopback
    address, otherwise every interface (a name or a remote address is not ours to bind)."""
    try:
        address = ipaddress.ip_address(target_host)
    except ValueError:
        return "127.0.0.1" if target_host == "localhost" else "0.0.0.0"
    if address.is_loopback:
        return target_host
    return "::" if address.version == 6 else "0.0.0.0"


def config_yaml(config: dict[str, Any], header: list[str]) -> str:
    """The configuration as YAML, ``header`` as comment lines on top, a comment on each section."""
    document = CommentedMap(config)
    document.yaml_set_start_comment("\n".join(header))
    for key, comment in _SECTION_COMMENTS.items():
        if key in document:
            document.yaml_set_comment_before_after_key(key, before="\n" + comment)
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()
