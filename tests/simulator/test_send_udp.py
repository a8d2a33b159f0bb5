"""send-udp: every kind reaches a real UDP socket with the field layout of its appender pattern."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sensebutler.simulator.log4net import load_appenders
from sensebutler.simulator.send_udp import SendError, parse_target, register, send, send_async
from sensebutler.simulator.udp_samples import KINDS, MAX_UDP_PAYLOAD, SampleKind

COMPAT = Path(__file__).resolve().parents[2] / "../shared/compat"
END = b"--end-of-test--"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COMPACT_TS = re.compile(r"\d{8}T\d{6}\.\d{3}[+-]\d{4}")
LOCAL_TS = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}")
ID_TOKENS = {
    "%property{TaskId}",
    "%property{AppId}",
    "%property{ExecutionId}",
    "%property{SessionId}",
    "%property{ProxySessionId}",
    "%property{DocId}",
    "%property{ProcessId}",
}
WELL_FORMED = [kind for kind in KINDS.values() if kind.appender is not None]


class Receiver:
    """A UDP socket on a free loopback port with a thread that keeps its buffer drained."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.target = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        self.datagrams: list[bytes] = []
        self._done = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(MAX_UDP_PAYLOAD + 100)
            except TimeoutError:
                continue
            except OSError:
                return
            if data == END:
                self._done.set()
            else:
                self.datagrams.append(data)

    def finish(self) -> list[bytes]:
        """Everything sent before this call: an end marker queues behind it on the same socket."""
        with socket.socket(self.sock.family, socket.SOCK_DGRAM) as sock:
            sock.sendto(END, self.sock.getsockname()[:2])
        assert self._done.wait(20), "end marker never arrived"
        return self.datagrams

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    yield rx
    rx.close()


def check_layout(kind: SampleKind, data: bytes) -> None:
    """Split like the receivers do and check each field against its token in the appender pattern."""
    assert kind.appender is not None
    tokens = kind.appender.pattern.split(";")
    fields = data.decode("utf-8").split(";")
    if tokens[-1] == "%message":  # free text last: receivers re-join the remainder
        fields = [*fields[: len(tokens) - 1], ";".join(fields[len(tokens) - 1 :])]
    assert len(fields) == len(tokens), (kind.name, data)
    assert fields[0] == kind.prefix == tokens[0]
    for token, value in zip(tokens, fields, strict=True):
        if token in ID_TOKENS and not (token == "%property{ProxySessionId}" and value == "0"):
            assert GUID.fullmatch(value), (kind.name, token, value)
        elif token == "%longIso8601date":
            assert COMPACT_TS.fullmatch(value), (kind.name, value)
        elif token == "%date":
            assert LOCAL_TS.fullmatch(value), (kind.name, value)
        elif token in ("%hostname", "%level", "%property{TaskName}", "%property{AppName}"):
            assert value, (kind.name, token)
    assert not any(ch in data for ch in b"\x00\r\n"), (kind.name, data)


# ------------------------------------------------------------------------------------------ library


@pytest.mark.parametrize("kind", WELL_FORMED, ids=lambda k: k.name)
def test_every_kind_arrives_with_its_field_layout(receiver: Receiver, kind: SampleKind) -> None:
    summary = send(receiver.target, kind.name, count=12, seed=7)
    received = receiver.finish()
    assert len(received) == 12
    assert summary.sent == {kind.name: 12}
    assert summary.bytes_sent[kind.name] == sum(map(len, received))
    for data in received:
        check_layout(kind, data)
    assert len(set(received)) > 1, "datagrams of a kind should vary"


def test_task_datagrams_parse_with_the_shipped_butler_patterns(receiver: Receiver) -> None:
    path = COMPAT / "butler" / "log_appender_xml" / "scheduler" / "LocalLogConfig.xml"
    if not path.is_file():
        pytest.skip(f"compat appender file {path} is absent (../shared/compat not available)")
    shipped = {spec.pattern.split(";")[0]: spec.pattern for spec in load_appenders(path)}
    for name in ("task-failed", "task-aborted", "task-success", "task-distribute"):
        send(receiver.target, name, count=3, seed=1)
    received = receiver.finish()
    assert len(received) == 12
    for data in received:
        fields = data.decode().split(";")
        assert len(fields) == shipped[fields[0]].count(";") + 1 == 11
        assert GUID.fullmatch(fields[5]) and GUID.fullmatch(fields[6]) and GUID.fullmatch(fields[9])
    assert {data.split(b";")[0] for data in received} == {
        b"/scheduler-task-failed/",
        b"/scheduler-task-aborted/",
        b"/scheduler-task-success//",
        b"/scheduler-distribute/",
    }


def test_user_connection_messages_carry_a_user_agent(receiver: Receiver) -> None:
    send(receiver.target, "user-connection", count=10, seed=3)
    for data in receiver.finish():
        message = data.decode().split(";", 7)[7]
        assert "connection Opened for session" in message or "connection Closed for session" in message
        assert re.search(r"UserAgent: 'Mozilla/5\.0 \(.+\)", message)


@pytest.mark.parametrize("kind", WELL_FORMED, ids=lambda k: k.name)
def test_every_row_passes_its_appenders_filters(kind: SampleKind) -> None:
    """The rows are ones the appender would really send: logger, level and message filter all pass."""
    assert kind.appender is not None
    for i in range(40):
        row = kind.record(i, seed=3)
        assert row is not None and kind.appender.accepts(row), (kind.name, row)
        assert kind.appender.render(row).encode() == kind.datagram(i, seed=3, now=row.time)


def test_same_seed_same_fields() -> None:
    a = KINDS["scheduler"].datagram(5, seed=11).split(b";")
    b = KINDS["scheduler"].datagram(5, seed=11).split(b";")
    c = KINDS["scheduler"].datagram(5, seed=12).split(b";")
    assert a[4:] == b[4:]  # fields after the timestamps
    assert a[15:] != c[15:]  # task / app / execution ids differ between seeds


def test_malformed_mix_arrives_as_sent(receiver: Receiver) -> None:
    summary = send(receiver.target, "malformed", count=16, seed=5)
    received = receiver.finish()
    assert summary.total == 16 and not summary.errors
    assert len(received) == 16
    assert b"" in received
    assert any(len(data) == MAX_UDP_PAYLOAD for data in received)
    assert any(b"\x00" in data for data in received)
    undecodable = 0
    for data in received:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable >= 2
    task_ids = [
        data.split(b";")[5].decode() for data in received if data.startswith(b"/scheduler-task-failed/")
    ]
    assert any(not GUID.fullmatch(task_id) for task_id in task_ids)


def test_all_cycles_through_every_kind(receiver: Receiver) -> None:
    summary = send(receiver.target, "all", count=2 * len(KINDS), seed=2)
    received = receiver.finish()
    assert len(received) == 2 * len(KINDS)
    assert summary.sent == dict.fromkeys(KINDS, 2)
    prefixes = {data.split(b";")[0].decode("utf-8", "replace") for data in received}
    assert {kind.prefix for kind in WELL_FORMED} <= prefixes


def test_count_and_rate_send_exactly_n(receiver: Receiver) -> None:
    progress: list[int] = []
    summary = send(receiver.target, "qix-perf", count=60, rate=600, seed=4, on_progress=progress.append)
    received = receiver.finish()
    assert len(received) == 60 == summary.total
    assert progress[-1] == 60 and progress == sorted(progress)
    # datagram k is not due before start + k / rate, so pacing can never finish early
    assert summary.elapsed >= 59 / 600


def test_distinct_cycles_pre_rendered_datagrams(receiver: Receiver) -> None:
    summary = send(receiver.target, "task-failed", count=9, distinct=3, seed=6)
    received = receiver.finish()
    assert summary.total == 9
    assert received == received[:3] * 3 and len(set(received)) == 3
    for data in received:
        check_layout(KINDS["task-failed"], data)
    with pytest.raises(SendError):
        send(receiver.target, "task-failed", distinct=0)


def test_raw_message_is_sent_verbatim(receiver: Receiver) -> None:
    text = "/scheduler-task-failed/;host;Tâsk;App;LAB\\u;not-a-guid;;2024-01-05 10:22:11,123;ERROR;;Max"
    summary = send(receiver.target, message=text, count=3)
    assert receiver.finish() == [text.encode()] * 3
    assert summary.sent == {"raw": 3}


def test_ipv6_target() -> None:
    rx = Receiver("::1")
    try:
        send(rx.target, "user-session", count=4, seed=9)
        received = rx.finish()
    finally:
        rx.close()
    assert len(received) == 4
    for data in received:
        check_layout(KINDS["user-session"], data)


def test_host_name_target() -> None:
    *_, address = socket.getaddrinfo("localhost", 1, type=socket.SOCK_DGRAM)[0]
    rx = Receiver(str(address[0]))
    try:
        send(f"localhost:{rx.port}", "engine", count=2)
        assert len(rx.finish()) == 2
    finally:
        rx.close()


async def test_async_send_keeps_the_loop_free(receiver: Receiver) -> None:
    summary = await send_async(receiver.target, "task-failed", count=5)
    assert summary.total == 5
    assert len(receiver.finish()) == 5


def test_target_without_port_uses_each_kinds_default_port() -> None:
    # count 0 resolves every route but sends nothing, so no standard port is touched
    summary = send("127.0.0.1", "all", count=0)
    assert summary.target == "127.0.0.1 (default ports)" and summary.total == 0
    assert {kind.port for kind in KINDS.values()} == {9996, 9997, 9998}
    assert KINDS["task-failed"].port == 9998 and KINDS["user-session"].port == 9997


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9996", ("127.0.0.1", 9996)),
        ("[::1]:9997", ("::1", 9997)),
        ("[fe80::1%eth0]", ("fe80::1%eth0", None)),
        ("::1", ("::1", None)),
        ("sense.example.com", ("sense.example.com", None)),
        (" butler:9998 ", ("butler", 9998)),
    ],
)
def test_parse_target(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    "text", ["", ":9996", "host:", "host:0", "host:65536", "host:x", "[::1", "[::1]9996"]
)
def test_bad_targets(text: str) -> None:
    with pytest.raises(SendError):
        parse_target(text)


def test_bad_kind_lists_the_valid_kinds(receiver: Receiver) -> None:
    with pytest.raises(SendError, match=r"valid kinds: engine, proxy.*malformed, all"):
        send(receiver.target, "no-such-kind")
    with pytest.raises(SendError):
        send(receiver.target)  # neither a kind nor a message
    with pytest.raises(SendError, match="port"):
        send("127.0.0.1", message="x")
    with pytest.raises(SendError, match="resolve"):
        send("no-such-host.invalid:9996", "engine")


# ---------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A stand-in for the main CLI."""

    register(app)
    return app


def test_cli_sends_every_kind(cli: typer.Typer, receiver: Receiver) -> None:
    count = 3 * len(KINDS)
    result = CliRunner().invoke(
        cli, ["send-udp", "--kind", "all", "--target", receiver.target, "--count", str(count), "--seed", "8"]
    )
    assert result.exit_code == 0, result.output
    received = receiver.finish()
    assert len(received) == count
    by_prefix: dict[str, list[bytes]] = {}
    for data in received:
        by_prefix.setdefault(data.split(b";")[0].decode("utf-8", "replace"), []).append(data)
    for kind in WELL_FORMED:
        assert len(by_prefix[kind.prefix]) == 3, kind.name
        for data in by_prefix[kind.prefix]:
            check_layout(kind, data)
    assert f"{count} datagrams" in result.output and "seed 8" in result.output
    assert "sending" not in result.output  # no progress bar when stdout is not a terminal


def test_cli_count_and_rate(cli: typer.Typer, receiver: Receiver) -> None:
    args = [
        "send-udp",
        "-k",
        "reload-failed",
        "-t",
        receiver.target,
        "-n",
        "150",
        "-r",
        "1500",
        "--distinct",
        "40",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    received = receiver.finish()
    assert len(received) == 150 and len(set(received)) == 40
    assert "reload-failed" in result.output and "150 datagrams" in result.output


def test_cli_raw_message(cli: typer.Typer, receiver: Receiver) -> None:
    result = CliRunner().invoke(cli, ["send-udp", "-t", receiver.target, "-m", "hello;world"])
    assert result.exit_code == 0, result.output
    assert receiver.finish() == [b"hello;world"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "bogus", "--target", "127.0.0.1:5"], "task-failed"),
        (["--kind", "engine", "--target", "127.0.0.1:70000"], "port"),
        (["--kind", "engine", "--target", "no-such-host.invalid"], "resolve"),
        (["--kind", "engine"], "--target"),
    ],
)
def test_cli_errors_exit_2(cli: typer.Typer, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["send-udp", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_lists_kinds(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["send-udp", "--list-kinds"])
    assert result.exit_code == 0
    for name in KINDS:
        assert name in result.output
