"""A faithful fake Qlik Sense Enterprise on Windows site (``sensebutler simulator``).

Over HTTPS with mutual TLS it serves what monitoring and integration tools talk to, for every node
of a scenario: the engine healthcheck and the QIX websocket (4747, JSON-RPC as enigma.js speaks it:
:mod:`sensebutler.simulator.qix`; apps get a generated load script, sheets, charts, master items,
variables and bookmarks, :mod:`~sensebutler.simulator.app_content`), the proxy session API (4243),
and on the central node the Repository Service API (4242) and the About service (9032). It keeps a
consistent model of apps, tasks, users, licences, sessions and Windows services, and sends log4net
UDP datagrams exactly as the shipped appender files would (:mod:`sensebutler.simulator.log4net`).
Default scenario: 3 nodes, 20 apps, 30 tasks of all five types, 200 users (``default_scenario.yaml``).

Library (what tests and benchmarks use)::

    options = SimulatorOptions(state_dir=path, udp_log_target="127.0.0.1:9996", background=False)
    async with Simulator(options) as sim:
        sim.info            # SimulatorInfo: URLs/ports per node, QRS, About, control URL, cert paths
        sim.info.client_ssl_context()   # ssl.SSLContext with the exported client cert (for httpx verify=)
        sim.model           # the live state (sensebutler.simulator.model.Site)

    Control (same operations as the control API; see :mod:`sensebutler.simulator.control`):
        await sim.trigger_reload(task, outcome="failed", duration=0.5) -> ExecutionSession
            (outcome may list one per attempt, ["failed", "success"], for tasks with maxRetries)
        await sim.wait_for_task(session.id) -> ExecutionResult
        await sim.add_session(node, user="LAB\\\\anna", virtual_proxy="", apps=1) / remove_session(id)
        await sim.stop_service(node, "engine") / start_service(node, "engine")
        await sim.restart_engine(node); sim.set_engine_load(node, cpu=95, ram=None)
        sim.set_slow(node, "engine", 6.0, path=""); await sim.set_failing(node, "qrs", 500 | "tls" | None)
        await sim.clear_faults(); await sim.expire_license(); sim.set_license_expiry(days)
        await sim.emit_events("engine", count=10, rate=5.0); sim.pause_activity(); sim.resume_activity()
        sim.set_app_reload_failing(app, True)   # engine reloads (QIX DoReload) of that app fail
        sim.app_reloads.duration = 0.05         # how long such a reload takes; sim.model.app_reloads
        sim.status(); sim.services(); sim.sc_query(node)

As strict as Sense where a test could otherwise be fooled: QRS filters and orderby are checked
against each entity's properties and types (:mod:`~sensebutler.simulator.qrs_schema`: unknown
property or ``gt`` on a string → 400); an ``X-Qlik-User`` that is neither ``INTERNAL\\sa_*`` nor a
RootAdmin of the scenario gets empty lists and 403s; a task with ``maxRetries`` retries (a result
per attempt, status 10 between them); and each node presents its own certificate naming only that
node, so a client that checks host names must ask for the node's name (``sim.info.server_name(port)``
tells which; ``SimulatorOptions(lenient_certificates=True)`` / ``--lenient-certificates`` gives one
certificate naming every node, localhost and 127.0.0.1 instead).

Ports: 0 picks free ports. A fixed port is the first node's; further nodes use the next numbers
(engine 4747, 4748, 4749, then extra engines), so keep fixed bases apart. QRS and About run on the
central node only. ``extra_engines=N`` adds N engine-only nodes (``engine001``...) served by the same
HTTP stack (one socket each), for benchmarks that poll hundreds of servers.

Process: ``sensebutler simulator --state-dir DIR [--host H] [--qrs-port P] [--proxy-port P]
[--engine-port P] [--about-port P] [--control-port P] [--udp-log-target host:port]
[--udp-user-target host:port] [--udp-task-target host:port] [--scenario FILE] [--seed N]
[--background/--no-background] [--activity-rate R] [--extra-engines N] [--lenient-certificates]``
prints one JSON line on stdout when ready (the fields of ``SimulatorInfo.as_json()``, also written
to DIR/simulator.json), logs to stderr and exits 0 on SIGTERM/SIGINT (2 bad arguments, 3 could not
start). ``python -m sensebutler.simulator`` is the same command. ``sensebutler simulator trigger ...``
acts on a running one through its control API (:mod:`sensebutler.simulator.trigger_cli`);
``sensebutler demo`` runs it with background activity and narrates what happens.

Pytest: the plugin ``tests.fixtures.simulator`` offers ``simulator`` and ``simulator_factory``.
"""

from sensebutler.simulator.control import ControlError, ControlUsageError
from sensebutler.simulator.runs import TaskBusy
from sensebutler.simulator.simulator import NodeInfo, Simulator, SimulatorInfo, SimulatorOptions

__all__ = [
    "ControlError",
    "ControlUsageError",
    "NodeInfo",
    "Simulator",
    "SimulatorInfo",
    "SimulatorOptions",
    "TaskBusy",
]
