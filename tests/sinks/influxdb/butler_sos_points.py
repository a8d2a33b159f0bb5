"""Points as Butler SOS 15's InfluxDB v1 writer writes them, as line protocol (butler-sos.md §4).

Its v1 client declares field types for the health, session, memory and log-event measurements and
writes them with those types; for the others it declares none, and then writes every number as a
float (no ``i`` suffix). Written into an influxd before sensebutler, these fix each field's type the
way an existing Butler SOS database has it.
"""

from __future__ import annotations

BUTLER_SOS_V1_LINES = (
    # health (declared types)
    'sense_server,host=qs1,server_name=qs1,server_description=x version="14.173.8",started="s",uptime="u"',
    "mem,host=qs1,server_name=qs1,server_description=x comitted=10649i,allocated=12000i,free=2000i",
    "apps,host=qs1,server_name=qs1,server_description=x active_docs_count=1i,loaded_docs_count=1i,"
    'in_memory_docs_count=1i,active_docs="",loaded_docs="",in_memory_docs="",active_docs_names="",'
    'loaded_docs_names="",in_memory_docs_names="",active_session_docs_names="",'
    'loaded_session_docs_names="",in_memory_session_docs_names="",calls=10i,selections=5i',
    "cpu,host=qs1,server_name=qs1,server_description=x total=95i",
    "session,host=qs1,server_name=qs1,server_description=x active=1i,total=2i",
    "users,host=qs1,server_name=qs1,server_description=x active=1i,total=2i",
    "cache,host=qs1,server_name=qs1,server_description=x hits=1i,lookups=2i,added=3i,replaced=4i,bytes_added=5i",
    "saturated,host=qs1,server_name=qs1,server_description=x saturated=false",
    "user_session_summary,host=qs1,user_session_virtual_proxy=/,user_session_host=qs1:4243 "
    'session_count=2i,session_user_id_list="A\\\\b"',
    'user_session_list,host=qs1,user_session_virtual_proxy=/ session_user_id_list="A\\\\b"',
    'user_session_details,host=qs1,user_session_id=s1 session_id="s1",user_directory="A",user_id="b"',
    "butlersos_memory_usage,butler_sos_instance=DEV,version=15.0.1 "
    "heap_used=48.31,heap_total=70.5,external=4.12,process_memory=152.77",
    # UDP events (declared types)
    "log_event,host=qs1,level=WARN,source=qseow-engine,log_row=1,subsystem=System.Engine "
    'message="m",session_id="",raw_event="{}"',
    "log_event,host=qs1,level=WARN,source=qseow-proxy,log_row=2,subsystem=Audit.Proxy "
    'message="m",exception_message="",command="c",result_code="403",origin="o",context="/"',
    "log_event,host=qs1,level=ERROR,source=qseow-scheduler,log_row=3,subsystem=System.Scheduler "
    'message="m",exception_message="",app_name="a",app_id="x",execution_id="e"',
    "log_event,host=qs1,level=INFO,source=qseow-qix-perf,log_row=-1,subsystem=Qix,method=m,"
    "object_type=t,proxy_session_id=-1,session_id=-1,event_activity_source=user "
    'app_id="",process_time=1.5,work_time=1.5,lock_time=0,validate_time=0,traverse_time=0,'
    "handle=1i,net_ram=1i,peak_ram=1i",
    'user_events,host=qs1,event_action=Start\\ session,userFull=A\\\\b userFull="A\\\\b",userId="b",'
    'appId="x",appName="y"',
    # ingest reports and errors (no declared schema: every number a float)
    "event_count,event_type=log,source=qseow-engine,host=qs1,subsystem=System.Engine counter=3",
    "rejected_event_count,source=qseow-qix-perf,app_id=x,method=m,object_type=t,app_name_set=false "
    "counter=2,process_time=12.5",
    *(
        f"{queue}_events_queue,queue_type={queue}_events queue_size=0,queue_max_size=200,"
        "queue_utilization_pct=0,queue_running=0,messages_received=57,messages_queued=57,"
        "messages_processed=57,messages_failed=0,messages_dropped_total=0,"
        "messages_dropped_rate_limit=0,messages_dropped_queue_full=0,messages_dropped_size=0,"
        "processing_time_avg_ms=0.4,processing_time_p95_ms=1,processing_time_max_ms=3,"
        "rate_limit_current=0,backpressure_active=0"
        for queue in ("log", "user")
    ),
    "butler_sos_errors,error_type=HEALTH_API,server_name=qs1,host=qs1:4747 "
    'error_category="timeout",error_code="ECONNABORTED",request_url="https://qs1:4747/engine/healthcheck",'
    "error_count=1,request_timeout_ms=5000,http_status=503",
)
