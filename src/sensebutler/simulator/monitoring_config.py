"""A sensebutler configuration that monitors a running simulator.

Used by ``sensebutler demo`` and the end-to-end tests, and useful to admins as a starting point:
it is a plain config dict (the same keys as ``config/example.yaml``), so it can be dumped to YAML,
edited and verified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensebutler.simulator.simulator import SimulatorInfo


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
