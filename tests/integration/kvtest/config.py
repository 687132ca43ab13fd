"""What every part of the harness agrees on: where the binaries are, how
long to wait, which numbers are test numbers and what a child's environment
holds."""

import itertools
import os
import re
import threading

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("KOOKOOVERIFY_BIN") or os.path.join(ROOT, "bin",
                                                         "kookooverify")

# The simulator: $KOOKOO_SIM_BIN, else kookoo-sim(-san) next to the server
# binary (-san when the server is bin/kookooverify-san), else bin/kookoo-sim.
SIM_BIN = os.environ.get("KOOKOO_SIM_BIN") or next(
    (p for p in (os.path.join(os.path.dirname(BIN), "kookoo-sim-san")
                 if BIN.endswith("-san") else "",
                 os.path.join(os.path.dirname(BIN), "kookoo-sim"),
                 os.path.join(ROOT, "bin", "kookoo-sim"))
     if p and os.path.isfile(p)), os.path.join(ROOT, "bin", "kookoo-sim"))

READY_TIMEOUT = 10.0  # seconds to wait for "listening on"
STOP_TIMEOUT = 10.0   # seconds to wait for a clean exit after SIGTERM
HTTP_TIMEOUT = 5.0    # every HTTP request
CLI_TIMEOUT = 20.0    # migrate, keys, check-config

SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer",
                   "LeakSanitizer")
REQUEST_ID_RE = re.compile(r"^[0-9a-f]{32}$")
DATETIME_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")

# First test number; numbers are FIRST_NUMBER + i for i in 0..count-1.
FIRST_NUMBER = 919999900001


def pin_of(number):
    """The fixed 4-digit PIN the harness gives test number `number`."""
    i = int(number) - FIRST_NUMBER + 1
    return "%04d" % ((i * 7919 + 1234) % 9000 + 1000)


def wrong_pin(pin):
    """A code of the same length that is certainly not `pin`."""
    last = (int(pin[-1]) + 1) % 10
    return pin[:-1] + str(last)


def sanitizer_report(text):
    return any(m in text for m in SANITIZER_MARKS)


LIMITS_OFF = {
    "KOOKOOVERIFY_LIMIT_KEY_RPS": "0",
    "KOOKOOVERIFY_LIMIT_NUMBER_MAX": "0",
    "KOOKOOVERIFY_LIMIT_PREFIX_PER_HOUR": "0",
    "KOOKOOVERIFY_LIMIT_IP_CHECKS_PER_MIN": "0",
    "KOOKOOVERIFY_LIMIT_IP_AUTH_FAILURES_PER_MIN": "0",
    "KOOKOOVERIFY_LIMIT_PK_IP_CALLS_PER_MIN": "0",
    "KOOKOOVERIFY_FRAUD_REPORTS_BLOCK": "0",
    "KOOKOOVERIFY_FRAUD_MIN_VOLUME": "0",
}


# KOOKOOVERIFY_TEST_LOG_FORMAT=json: every server and command logs JSON.
LOG_FORMAT = os.environ.get("KOOKOOVERIFY_TEST_LOG_FORMAT", "")


def clean_env(settings=None):
    """os.environ without inherited KOOKOOVERIFY_* plus `settings`.

    settings maps "pin_expiry" or "KOOKOOVERIFY_PIN_EXPIRY" to a value.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KOOKOOVERIFY_")}
    # The whole suite can run with JSON logs (the log scan reads both).
    if LOG_FORMAT:
        env["KOOKOOVERIFY_LOG_FORMAT"] = LOG_FORMAT
    # The abuse limits have their own tests (test_limits.py); every other
    # test sends far more per key, number and address than they allow.
    env.update(LIMITS_OFF)
    # Servers and the CLI run in temp dirs: the IVR templates by path.
    env["KOOKOOVERIFY_XML_TEMPLATES"] = os.path.join(ROOT, "xml_templates")
    for k, v in (settings or {}).items():
        if not k.startswith("KOOKOOVERIFY_"):
            k = "KOOKOOVERIFY_" + k.upper()
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def sim_settings(sim, port, **overrides):
    """Settings that wire a server listening on `port` to `sim`, with the
    short delivery timings the delivery tests assume; overrides win (None
    removes a setting, e.g. kookoo_base_url=None: delivery off)."""
    settings = {
        "kookoo_base_url": sim.base_url,
        "kookoo_api_key": "test",
        "public_base_url": "http://127.0.0.1:%d" % port,
        "call_window": "00:00-00:00",  # always open
        "pin_expiry": 6,
        "next_event_wait": 2,
        "param_min_wait": 1,
        "retry_base_ms": 100,
        "retry_max_ms": 400,
        "kookoo_timeout_ms": 500,
        "job_lease": 2,
    }
    settings.update(overrides)
    return {k: v for k, v in settings.items() if v is not None}


_mobiles = itertools.count(1)
_mobiles_lock = threading.Lock()


def new_mobile(prefix="9198124"):
    """An Indian mobile number under `prefix` that no other test of this
    run was given: not one of the fixed-PIN test numbers, so the simulator
    delivers its SMS and calls."""
    with _mobiles_lock:
        n = next(_mobiles)
    return "%s%0*d" % (prefix, 12 - len(prefix), n)
