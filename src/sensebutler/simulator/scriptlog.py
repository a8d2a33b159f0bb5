"""Reload script logs as the engine writes them: CRLF lines, compact local timestamps, a header
block, numbered script statements, and an ending that matches the outcome."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sensebutler.simulator.timefmt import compact_local

_SOURCES = (
    "Orders",
    "Customers",
    "Products",
    "Invoices",
    "Budget",
    "Employees",
    "Shipments",
    "Calls",
    "Stock",
    "Suppliers",
    "Campaigns",
    "Sessions",
    "Defects",
    "Vehicles",
    "Accounts",
)
_ERRORS = (
    "Cannot open file: 'lib://DataFiles/{table}.qvd' (Connector error: File not found)",
    "Field '{table}Key' not found",
    "Connector reply error: ErrorSource: Microsoft OLE DB Driver for SQL Server, "
    "ErrorMsg: Login timeout expired",
    "Table '{table}' not found",
    "Unexpected token: ')', expected one of: ',', 'as', 'OPERATOR_PLUS'",
)


@dataclass(frozen=True, slots=True)
class ScriptLog:
    head: str
    full: str


def _line(moment: datetime, text: str) -> str:
    return f"{compact_local(moment)} {text}"


def render_script_log(
    rng: random.Random,
    *,
    app_name: str,
    reload_id: str,
    version: str,
    executed_by: str,
    start: datetime,
    stop: datetime,
    outcome: str,
    partial: bool = False,
) -> ScriptLog:
    """``head`` is what exists while the reload runs; ``full`` the whole log after ``outcome``."""
    directory, _, user_id = executed_by.partition("\\")
    header = [
        "Execution started.",
        f"Qlik Sense Server Version {version}",
        "CPU Target                    x64",
        "Operating System              Windows Server 2019 Standard  (64 bit edition)",
        "Wow64 mode                    Not using Wow64",
        "MDAC Version                  6.3.17763.1",
        "MDAC Function support         Unicode",
        "PC Locale                     English (United States)",
        "PC Collation                  English (United States)",
        "Script Locale                 English (United States)",
        "Script Collation              English (United States)",
        f"Reload ID                     {reload_id}",
        f"Reload Executed By            UserDirectory={directory}; UserId={user_id}",
        "Process Executing             Qlik Sense Server",
        f"Process ID                    {rng.randint(1200, 9800)}",
    ]
    lines = [_line(start, text) for text in header]
    statement = 2
    moment = start + timedelta(milliseconds=15)
    for text in (
        "SET ThousandSep=',';",
        "SET DecimalSep='.';",
        "SET DateFormat='YYYY-MM-DD';",
        f"// {app_name}{' (partial reload)' if partial else ''}",
    ):
        lines.append(_line(moment, f"{statement:04d}  {text}"))
        statement += 1
    head = "\r\n".join(lines) + "\r\n"

    tables = rng.sample(_SOURCES, rng.randint(3, 6))
    failing = rng.randrange(len(tables)) if outcome == "failed" else -1
    elapsed = stop - start
    for index, table in enumerate(tables):
        moment = start + elapsed * ((index + 1) / (len(tables) + 1))
        statement += rng.randint(1, 4)
        lines.append(_line(moment, f"{statement:04d}  {table}:"))
        lines.append(_line(moment, f"{statement + 1:04d}  LOAD *"))
        lines.append(_line(moment, f"{statement + 2:04d}  FROM [lib://DataFiles/{table.lower()}.qvd]"))
        lines.append(_line(moment, f"{statement + 3:04d}  (qvd)"))
        statement += 4
        if index == failing:
            error = rng.choice(_ERRORS).format(table=table)
            lines.append(_line(stop, f"      Error: {error}"))
            lines.append(_line(stop, "      Execution Failed"))
            lines.append(_line(stop, "      Execution finished."))
            break
        if outcome == "aborted" and index == len(tables) - 1:
            lines.append(_line(stop, "      Execution aborted by user"))
            lines.append(_line(stop, "      Execution finished."))
            break
        lines.append(_line(moment, f"      {rng.randint(1_000, 4_000_000):,} Lines fetched"))
    if outcome == "success":
        lines.append(_line(stop, "      Creating search index"))
        lines.append(_line(stop, "      Search index creation completed successfully"))
        lines.append(_line(stop, "---"))
        lines.append(_line(stop, "App saved"))
        lines.append(_line(stop, "---"))
        lines.append(_line(stop, "Finished successfully"))
        lines.append(_line(stop, "Execution finished."))
    return ScriptLog(head=head, full="\r\n".join(lines) + "\r\n")
