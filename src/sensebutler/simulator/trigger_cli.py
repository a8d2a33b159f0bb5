"""``sensebutler simulator trigger ...``: make things happen now on a running simulator.

The commands call the control API. Its URL comes from ``--control URL`` or, by default, from the
``simulator.json`` the simulator writes into its state dir (``--state-dir``, as given to the
simulator). Output is the JSON answer. Exit codes: 0 done, 1 the simulator refused (unknown
task/node, bad value; its message is printed), 3 no simulator answering at that address.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3


def _control_url(ctx: typer.Context) -> str:
    settings: dict[str, Any] = ctx.obj or {}
    if settings.get("control"):
        return str(settings["control"]).rstrip("/")
    state_dir = Path(settings.get("state_dir") or ".state/simulator")
    ready = state_dir / "simulator.json"
    try:
        url = json.loads(ready.read_text())["control_url"]
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"no running simulator found in {state_dir} ({exc}); pass --control URL", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from None
    return str(url).rstrip("/")


def _call(ctx: typer.Context, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    url = _control_url(ctx) + path
    try:
        response = httpx.request(method, url, json=body, timeout=None)
    except httpx.TransportError as exc:
        typer.echo(f"cannot reach the simulator at {url}: {exc}", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from None
    if response.headers.get("content-type", "").startswith("application/json"):
        payload = response.json()
        if response.status_code >= 400:
            message = payload.get("message", payload) if isinstance(payload, dict) else payload
            typer.echo(f"refused ({response.status_code}): {message}", err=True)
            raise typer.Exit(EXIT_REFUSED)
        typer.echo(json.dumps(payload, indent=2))
    else:
        if response.status_code >= 400:
            typer.echo(f"refused ({response.status_code}): {response.text}", err=True)
            raise typer.Exit(EXIT_REFUSED)
        typer.echo(response.text, nl=False)


Node = Annotated[str, typer.Argument(help="Node name or host name (Central, Rim1, qlikserver2, engine001).")]
Service = Annotated[str, typer.Argument(help="engine, proxy, qrs or about.")]
Path_ = Annotated[str, typer.Option("--path", help="Only requests whose path starts with this.")]


def trigger_app() -> typer.Typer:
    app = typer.Typer(help="Make things happen now on a running simulator.", no_args_is_help=True)

    @app.callback()
    def trigger(
        ctx: typer.Context,
        control: Annotated[
            str | None, typer.Option(help="Control API URL (default: from the state dir).")
        ] = None,
        state_dir: Annotated[Path | None, typer.Option(help="The simulator's state dir.")] = None,
    ) -> None:
        parent: dict[str, Any] = ctx.obj or {}
        ctx.obj = {"control": control, "state_dir": state_dir or parent.get("state_dir")}

    @app.command()
    def reload(
        ctx: typer.Context,
        task: Annotated[str, typer.Argument(help="Task GUID or exact name.")],
        outcome: Annotated[str, typer.Option(help="success, failed or aborted.")] = "success",
        duration: Annotated[float | None, typer.Option(help="Seconds the run takes.")] = None,
        wait: Annotated[bool, typer.Option(help="Return when the run has finished.")] = False,
    ) -> None:
        """Run a task now and make it succeed, fail or abort."""
        body: dict[str, Any] = {"outcome": outcome, "wait": wait}
        if duration is not None:
            body["duration"] = duration
        _call(ctx, "POST", f"/tasks/{task}/reload", body)

    @app.command()
    def service(
        ctx: typer.Context,
        node: Node,
        name: Annotated[
            str,
            typer.Argument(
                help="engine, proxy, repository, scheduler, printing, dispatcher, "
                "database, or the Windows service name."
            ),
        ],
        action: Annotated[str, typer.Argument(help="stop or start")],
    ) -> None:
        """Stop or start a Windows service on a node."""
        _call(ctx, "POST", f"/services/{node}/{name}/{action}")

    @app.command()
    def services(ctx: typer.Context) -> None:
        """List every node's Windows services and their states."""
        _call(ctx, "GET", "/services")

    @app.command("session-add")
    def session_add(
        ctx: typer.Context,
        node: Node,
        user: Annotated[str | None, typer.Option(help="DIR\\userid (default: a random user).")] = None,
        virtual_proxy: Annotated[str, typer.Option(help="Virtual proxy prefix ('' = default).")] = "",
        apps: Annotated[int, typer.Option(help="Apps the session opens.")] = 1,
    ) -> None:
        """Start a user session on a node's proxy."""
        _call(
            ctx,
            "POST",
            "/sessions",
            {"node": node, "user": user, "virtual_proxy": virtual_proxy, "apps": apps},
        )

    @app.command("session-remove")
    def session_remove(ctx: typer.Context, session_id: Annotated[str, typer.Argument()]) -> None:
        """End a user session."""
        _call(ctx, "DELETE", f"/sessions/{session_id}")

    @app.command()
    def events(
        ctx: typer.Context,
        kind: Annotated[
            str, typer.Argument(help="engine, proxy, repository, scheduler, qix-perf, session, connection")
        ],
        count: Annotated[int, typer.Option(help="How many.")] = 1,
        rate: Annotated[float, typer.Option(help="Per second (0 = all at once).")] = 0.0,
    ) -> None:
        """Log events of a kind (they leave as datagrams where the appenders send them)."""
        _call(ctx, "POST", "/events", {"kind": kind, "count": count, "rate": rate})

    @app.command()
    def slow(
        ctx: typer.Context,
        node: Node,
        service_name: Service,
        seconds: Annotated[float, typer.Argument(help="Delay per answer (0 ends it).")],
        path: Path_ = "",
    ) -> None:
        """Make an endpoint answer slowly (e.g. beyond a client's timeout)."""
        _call(
            ctx,
            "POST",
            "/faults",
            {"node": node, "service": service_name, "mode": "slow", "seconds": seconds, "path": path},
        )

    @app.command()
    def fail(
        ctx: typer.Context,
        node: Node,
        service_name: Service,
        status: Annotated[int, typer.Option(help="HTTP status to answer with.")] = 500,
        tls: Annotated[bool, typer.Option("--tls", help="Refuse TLS handshakes instead.")] = False,
        path: Path_ = "",
    ) -> None:
        """Make an endpoint fail with an HTTP status, or refuse TLS."""
        body: dict[str, Any] = {"node": node, "service": service_name, "path": path}
        body.update({"mode": "tls"} if tls else {"mode": "error", "status": status})
        _call(ctx, "POST", "/faults", body)

    @app.command("clear-faults")
    def clear_faults(ctx: typer.Context) -> None:
        """End every slow, failing or TLS-refusing endpoint."""
        _call(ctx, "DELETE", "/faults")

    @app.command("expire-license")
    def expire_license(ctx: typer.Context) -> None:
        """Expire the server licence."""
        _call(ctx, "POST", "/license/expire")

    @app.command("license-days")
    def license_days(
        ctx: typer.Context, days: Annotated[int, typer.Argument(help="Days until expiry.")]
    ) -> None:
        """Set the server licence to expire in DAYS days."""
        _call(ctx, "POST", "/license", {"valid_days": days})

    @app.command("restart-engine")
    def restart_engine(ctx: typer.Context, node: Node) -> None:
        """Restart an engine (counters reset, new start time, connections dropped)."""
        _call(ctx, "POST", f"/engines/{node}/restart")

    @app.command("engine-load")
    def engine_load(
        ctx: typer.Context,
        node: Node,
        cpu: Annotated[float | None, typer.Option(help="CPU percent (omit: simulated).")] = None,
        ram: Annotated[float | None, typer.Option(help="RAM percent (omit: simulated).")] = None,
    ) -> None:
        """Pin an engine's CPU / RAM use (above 90 % the healthcheck reports saturated)."""
        _call(ctx, "POST", f"/engines/{node}/load", {"cpu": cpu, "ram": ram})

    @app.command()
    def pause(ctx: typer.Context) -> None:
        """Hold background activity."""
        _call(ctx, "POST", "/activity/pause")

    @app.command()
    def resume(ctx: typer.Context) -> None:
        """Resume background activity."""
        _call(ctx, "POST", "/activity/resume")

    @app.command()
    def status(ctx: typer.Context) -> None:
        """Counters, sessions, running tasks, faults and stopped services."""
        _call(ctx, "GET", "/status")

    return app
