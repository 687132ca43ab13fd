"""Integration-test harness: runs the real kookooverify binary on port 0.

A Server owns one temp dir with its SQLite file, its API keys and the server
process; tests talk to it over HTTP on 127.0.0.1 with the standard library
only.  A Sim is the KooKoo simulator (bin/kookoo-sim) that delivery tests
wire a server to (sim_settings).  Both are kinds of one Child process class.
KVTestCase gives each TestCase class one server and the assertions the
tests share.  With KOOKOOVERIFY_TEST_BACKEND=postgres every Server gets its
own database on one PostgreSQL that the harness starts (kvtest.postgres);
db_query() reads or changes either kind of store.  Every child process is killed when the interpreter exits.

The code lives in the kvtest package, one module per concern (see its
__init__); this module re-exports what tests and soak.py import.
HTTP_TIMEOUT is not re-exported: the client reads it from kvtest.config at
each request, so that is where a test patches it.
"""

from kvtest.assertions import DialectSteps, ReplyAssertions
from kvtest.cases import KVTestCase, SimTestCase, WiredTestCase
from kvtest.logscan import events as log_events
from kvtest.client import Reply, ServerClient
from kvtest.config import (BIN, CLI_TIMEOUT, DATETIME_RE, FIRST_NUMBER,
                           HERE, LIMITS_OFF, READY_TIMEOUT,
                           REQUEST_ID_RE, ROOT, SANITIZER_MARKS, SIM_BIN,
                           STOP_TIMEOUT, clean_env, new_mobile, pin_of,
                           sanitizer_report, sim_settings, wrong_pin)
from kvtest.postgres import BACKEND, Postgres, postgres_only, sqlite_only
from kvtest.postgres import as_bytes as db_bytes
from kvtest.postgres import query as db_query
from kvtest.postgres import scalar as db_scalar
from kvtest.postgres import tables as db_tables
from kvtest.process import (DEATHSIG_PREFIX, Child, Server, Sim, free_port,
                            require_binary, run_cli, start_together,
                            started_sim)
from kvtest.waiting import poll_until, run_all, run_together

__all__ = [
    "BACKEND", "BIN", "CLI_TIMEOUT", "Child", "DATETIME_RE", "DEATHSIG_PREFIX",
    "DialectSteps", "FIRST_NUMBER", "HERE", "KVTestCase",
    "LIMITS_OFF", "Postgres", "READY_TIMEOUT", "REQUEST_ID_RE", "ROOT",
    "Reply",
    "ReplyAssertions", "SANITIZER_MARKS", "SIM_BIN", "STOP_TIMEOUT",
    "Server", "ServerClient", "Sim", "SimTestCase", "WiredTestCase",
    "clean_env", "db_bytes", "db_query", "db_scalar", "db_tables",
    "free_port", "log_events", "new_mobile", "pin_of",
    "poll_until", "postgres_only", "require_binary", "run_all", "run_cli",
    "run_together", "sanitizer_report", "sim_settings", "sqlite_only",
    "start_together", "started_sim", "wrong_pin",
]
