"""A fully enriched reload alert, as the enricher makes it from QRS, for unit tests."""

from __future__ import annotations

from typing import Any

import msgspec

from sensebutler.events.alerts import (
    AppInfo,
    AppOwner,
    Execution,
    ExecutionDetail,
    NameValue,
    ReloadAlert,
    TaskInfo,
)
from sensebutler.sources.udp import parse_task_datagram

TASK_ID = "dec2a02a-1680-44ef-8dc2-e2bfb180af87"
APP_ID = "4e1b7c5a-2f0a-4c9e-9f2e-0f5c3a7d9b11"
EXECUTION_ID = "4831c6a5-34f6-45bb-9d40-73a6e6992670"
SCRIPT_LOG = "".join(f"20240105T102003.{n:03d}+0100 line {n}\r\n" for n in range(1, 41))


def datagram(
    kind: str = "failed", execution_id: str = EXECUTION_ID, message: str = "Max retries reached"
) -> bytes:
    prefix = {
        "failed": "/scheduler-task-failed/",
        "aborted": "/scheduler-task-aborted/",
        "success": "/scheduler-task-success/",
    }[kind]
    return (
        f"{prefix};QLIKSERVER1;Reload of Sales;Sales & <Marketing>;LAB\\goran;{TASK_ID};{APP_ID};"
        f"2024-01-05 11:22:11,123;ERROR;{execution_id};{message}"
    ).encode()


def alert(**changes: Any) -> ReloadAlert:
    made = ReloadAlert(
        outcome="failed",
        task_type="reload",
        source=parse_task_datagram(datagram(), 0),
        task=TaskInfo(
            task_type="reload",
            tags=("Sales", "Nightly"),
            custom_properties=(NameValue("Butler_FailedAlertEnableEmail", "Yes"),),
            is_manually_triggered=True,
            max_retries=2,
            modified_by_username="LAB\\anna",
            modified_date="2024-01-04T09:00:00.000Z",
            session_timeout=1440,
            next_execution="1753-01-01T00:00:00.000Z",
        ),
        app=AppInfo(
            description="Daily sales KPIs",
            file_size=3145728,
            last_reload_time="2024-01-05T10:21:58.412Z",
            publish_time="1753-01-01T00:00:00.000Z",
            published=False,
            stream_name="Sales",
            tags=("Sales",),
            custom_properties=(NameValue("Department", "Sales"),),
        ),
        owner=AppOwner(
            name="Anna Lindqvist", user_id="anna", user_directory="LAB", emails=("anna@lab.example.com",)
        ),
        execution=Execution(
            result_id="17f49de9-dfc6-4c4c-aa04-bdf39d10bd87",
            executing_node_name="qlikserver1",
            status=8,
            start_time="2024-01-05T10:20:03.112Z",
            stop_time="2024-01-05T11:22:11.123Z",
            duration_ms=3_728_011,
            details=(
                ExecutionDetail(
                    created="2024-01-05T11:22:11.123Z",
                    message="Changing task state from Started to FinishedFail",
                    details_type=0,
                ),
                ExecutionDetail(
                    created="2024-01-05T10:20:03.020Z",
                    message="Changing task state to Triggered",
                    details_type=2,
                ),
            ),
            script_log_size=len(SCRIPT_LOG),
            file_reference_id="dcc50f73-7957-4371-8f32-6a275922f58e",
        ),
        script_log=SCRIPT_LOG,
    )
    return msgspec.structs.replace(made, **changes)
