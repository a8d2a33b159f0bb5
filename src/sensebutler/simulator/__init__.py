"""A faithful fake Qlik Sense Enterprise on Windows site (``sensebutler simulator``).

The simulator serves, over HTTPS with mutual TLS, what the monitoring and integration tools talk to:
the engine healthcheck (4747), the proxy session API (4243), the Repository Service API (4242) and
the About service (9032), for every node of a scenario; it keeps a consistent model of apps, tasks,
users, licences, sessions and services, and sends log4net UDP datagrams as the shipped appender files
would.

Library use::

    async with Simulator(SimulatorOptions(state_dir=path, udp_log_target="127.0.0.1:9996")) as sim:
        sim.info            # URLs, ports and certificate paths (the same data as the ready line)
        sim.model           # the live state (sensebutler.simulator.model.Site)

``sim.info.client_ssl_context()`` gives an ``ssl.SSLContext`` holding the exported client
certificate and trusting the simulator's root CA.
"""

from sensebutler.simulator.simulator import NodeInfo, Simulator, SimulatorInfo, SimulatorOptions

__all__ = ["NodeInfo", "Simulator", "SimulatorInfo", "SimulatorOptions"]
