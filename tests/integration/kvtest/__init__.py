"""The integration-test harness, one module per concern.

config      binaries, timeouts, test numbers and their PINs, the child
            environment (clean_env, LIMITS_OFF, sim_settings; JSON logs
            with KOOKOOVERIFY_TEST_LOG_FORMAT=json)
process     Child, the one class that starts, watches and stops a program
            on 127.0.0.1:0, and its two kinds: Server and Sim; run_cli
postgres    the PostgreSQL child, the backend switch
            (KOOKOOVERIFY_TEST_BACKEND), SQL on either kind of store
client      Reply and the HTTP calls a test makes to a server
openapi     replies checked against docs/openapi.yaml (client calls it)
assertions  the checks on replies that the tests share
waiting     poll_until and the thread helpers (run_together, run_all)
faults      FaultControl, a mixin that arms the server's fault hook
logscan     the log scan (no PIN, full number or secret in any server's
            log; Server.check_stderr runs it) and log lines of either
            format read as events (log_events)
cases       the unittest base classes: KVTestCase, WiredTestCase,
            SimTestCase

Tests import it through tests/integration/harness.py, which re-exports the
public names.
"""
