"""``sensebutler send-udp``: send predefined (or raw) log4net datagrams to a UDP receiver.

The successor of Butler's UDP test client. Library use::

    summary = send("127.0.0.1:9998", "task-failed", count=100, rate=50)
    summary = await send_async("[::1]", "all", count=170)   # every kind to its own default port

Pacing works on absolute deadlines (datagram k is due at ``start + k / rate``) and sends whatever is
due in one burst, so the achieved rate stays accurate over long runs whatever the sleep granularity.
"""

from __future__ import annotations

import asyncio
import errno
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sensebutler.simulator.udp_samples import KINDS

__all__ = ["ALL_KINDS", "SendError", "SendSummary", "parse_target", "register", "send", "send_async"]

ALL_KINDS = "all"
RAW_KIND = "raw"
_MAX_BURST = 512  # datagrams sent between progress reports / deadline checks
_PROGRESS_COUNT = 100  # show a progress bar above this many datagrams …
_PROGRESS_SECONDS = 2.0  # … or when the paced send takes longer than this

_Address = tuple[Any, ...]  # what getaddrinfo gives: (host, port) or (host, port, flowinfo, scope_id)


class SendError(ValueError):
    """Bad target or kind; the CLI prints it and exits with code 2."""


@dataclass(slots=True)
class SendSummary:
    """What was sent: datagrams and bytes per kind, send errors by reason, time taken."""

    target: str
    seed: int
    sent: Counter[str] = field(default_factory=Counter)
    bytes_sent: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    @property
    def rate(self) -> float:
        """Achieved datagrams per second."""
        return self.total / self.elapsed if self.elapsed > 0 else 0.0


def parse_target(text: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port``, ``[v6]``, bare ``host`` or bare IPv6 → (host, port or None)."""
    text = text.strip()
    port_text: str | None = None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise SendError(f"bad target {text!r}: use [ipv6]:port")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host = text  # a host name, IPv4 address or unbracketed IPv6 address without a port
    if not host:
        raise SendError(f"bad target {text!r}: no host")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SendError(f"bad target {text!r}: port must be a number from 1 to 65535")
    return host, int(port_text)


def _kind_names(kind: str) -> list[str]:
    if kind == ALL_KINDS:
        return list(KINDS)
    if kind not in KINDS:
        raise SendError(f"unknown kind {kind!r}; valid kinds: {', '.join([*KINDS, ALL_KINDS])}")
    return [kind]


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, _Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as error:
        raise SendError(f"cannot resolve {host!r}: {error}") from error
    family, _, _, _, address = infos[0]
    return family, address


@dataclass(slots=True)
class _Route:
    kind: str
    build: Callable[[int], bytes]
    address: _Address
    sock: socket.socket


def _sample_builder(name: str, seed: int, distinct: int | None) -> Callable[[int], bytes]:
    sample = KINDS[name]
    if distinct is None:
        return partial(sample.datagram, seed=seed)
    pool = [sample.datagram(i, seed) for i in range(distinct)]
    return lambda i: pool[i % distinct]


def _routes(
    host: str, port: int | None, kind: str | None, message: str | bytes | None, seed: int,
    distinct: int | None, sockets: dict[socket.AddressFamily, socket.socket],
) -> list[_Route]:  # fmt: skip
    def route(name: str, build: Callable[[int], bytes], route_port: int) -> _Route:
        family, address = _resolve(host, route_port)
        if family not in sockets:
            sockets[family] = socket.socket(family, socket.SOCK_DGRAM)
        return _Route(name, build, address, sockets[family])

    if message is not None:
        raw = message.encode("utf-8") if isinstance(message, str) else message
        kind_port = KINDS[kind].port if kind is not None and kind in KINDS else None
        if port is None and kind_port is None:
            raise SendError("--message needs a port in --target (or a --kind whose default port to use)")
        return [route(RAW_KIND, lambda _i: raw, port or kind_port or 0)]
    if kind is None:
        raise SendError(f"choose a --kind (one of {', '.join([*KINDS, ALL_KINDS])}) or a --message")
    return [
        route(name, _sample_builder(name, seed, distinct), port or KINDS[name].port)
        for name in _kind_names(kind)
    ]


def send(
    target: str,
    kind: str | None = None,
    *,
    count: int = 1,
    rate: float = 0.0,
    message: str | bytes | None = None,
    seed: int | None = None,
    distinct: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SendSummary:
    """Send ``count`` datagrams of ``kind`` (or ``all`` kinds in turn, or the raw ``message``).

    A target without a port sends each kind to its default port (9996 log, 9997 user, 9998 task).
    ``rate`` is datagrams per second, 0 for as fast as possible. ``seed`` picks the sample data (random
    when None, reported in the summary). ``distinct`` renders only that many datagrams per kind up front
    and cycles through them (timestamps then stay those of the start) — for rates beyond what building
    every datagram afresh allows. Raises :class:`SendError` for a bad target or kind; a datagram
    the network stack refuses is counted in ``errors`` under its errno name.
    """
    if count < 0 or rate < 0 or (distinct is not None and distinct < 1):
        raise SendError("--count and --rate must not be negative, --distinct must be at least 1")
    host, port = parse_target(target)
    chosen_seed = seed if seed is not None else random.randrange(2**31)
    sockets: dict[socket.AddressFamily, socket.socket] = {}
    try:
        routes = _routes(host, port, kind, message, chosen_seed, distinct, sockets)
        shown = f"[{host}]" if ":" in host else host
        summary = SendSummary(
            target=f"{shown}:{port}" if port else f"{shown} (default ports)", seed=chosen_seed
        )
        _pace(routes, count, rate, summary, on_progress)
    finally:
        for sock in sockets.values():
            sock.close()
    return summary


async def send_async(
    target: str,
    kind: str | None = None,
    *,
    count: int = 1,
    rate: float = 0.0,
    message: str | bytes | None = None,
    seed: int | None = None,
    distinct: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SendSummary:
    """:func:`send` in a worker thread, so the event loop (e.g. a receiver in this process) keeps running."""
    return await asyncio.to_thread(
        send,
        target,
        kind,
        count=count,
        rate=rate,
        message=message,
        seed=seed,
        distinct=distinct,
        on_progress=on_progress,
    )


def _pace(
    routes: list[_Route],
    count: int,
    rate: float,
    summary: SendSummary,
    on_progress: Callable[[int], None] | None,
) -> None:
    start = time.monotonic()
    done = 0
    while done < count:
        if rate > 0:
            due = min(count, int((time.monotonic() - start) * rate) + 1)
            if due <= done:
                time.sleep(max(0.0, start + done / rate - time.monotonic()))
                continue
        else:
            due = count
        burst_end = min(due, done + _MAX_BURST)
        for index in range(done, burst_end):
            route = routes[index % len(routes)]
            data = route.build(index // len(routes))
            try:
                route.sock.sendto(data, route.address)
            except OSError as error:
                summary.errors[errno.errorcode.get(error.errno or 0, type(error).__name__)] += 1
            else:
                summary.sent[route.kind] += 1
                summary.bytes_sent[route.kind] += len(data)
        done = burst_end
        if on_progress is not None:
            on_progress(done)
    summary.elapsed = time.monotonic() - start


# ---------------------------------------------------------------------------------------------- CLI


def _print_kinds(console: Console) -> None:
    table = Table(title="datagram kinds")
    table.add_column("kind", no_wrap=True)
    table.add_column("port", no_wrap=True)
    table.add_column("field 0", no_wrap=True)
    table.add_column("what")
    for sample in KINDS.values():
        table.add_row(sample.name, str(sample.port), sample.prefix or "-", sample.description)
    table.add_row(ALL_KINDS, "own", "", "every kind in turn, each to its default port unless one is given")
    console.print(table)


def _print_summary(console: Console, summary: SendSummary) -> None:
    table = Table("kind", "datagrams", "bytes", title=f"sent to {escape(summary.target)}")
    for kind, sent in summary.sent.items():
        table.add_row(kind, str(sent), str(summary.bytes_sent[kind]))
    console.print(table)
    console.print(
        f"{summary.total} datagrams, {sum(summary.bytes_sent.values())} bytes in {summary.elapsed:.3f} s "
        f"({summary.rate:.1f}/s), seed {summary.seed}"
    )
    for reason, number in summary.errors.items():
        console.print(f"[red]{number} datagrams not sent: {escape(reason)}[/red]")


def send_udp_command(
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="host:port, \\[ipv6]:port, or host for default ports")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="datagram kind, or 'all'")] = None,
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="datagrams to send")] = 1,
    rate: Annotated[float, typer.Option("--rate", "-r", min=0.0, help="datagrams per second, 0 = max")] = 0.0,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="send this exact text instead")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="sample data seed (default: random)")] = None,
    distinct: Annotated[
        int | None, typer.Option("--distinct", min=1, help="pre-render N datagrams per kind and cycle them")
    ] = None,
    list_kinds: Annotated[bool, typer.Option("--list-kinds", help="list the kinds and exit")] = False,
) -> None:
    """Send realistic log4net UDP datagrams (Butler task events, Butler SOS log and user events).

    Exit codes: 0 all sent, 1 some datagrams refused by the network stack, 2 bad target or kind.
    """
    console = Console()
    if list_kinds:
        _print_kinds(console)
        return
    errors = Console(stderr=True, highlight=False)
    if target is None:
        errors.print("[red]error:[/red] --target is required")
        raise typer.Exit(2)
    long_send = count > _PROGRESS_COUNT or (rate > 0 and count / rate > _PROGRESS_SECONDS)
    progress = Progress(
        TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, disable=not (long_send and sys.stdout.isatty()),
    )  # fmt: skip
    task = progress.add_task("send", total=count)
    try:
        with progress:
            summary = send(
                target, kind, count=count, rate=rate, message=message, seed=seed, distinct=distinct,
                on_progress=lambda done: progress.update(task, completed=done),
            )  # fmt: skip
    except SendError as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(2) from error
    _print_summary(console, summary)
    if summary.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``send-udp`` command to the main CLI."""
    app.command("send-udp")(send_udp_command)
