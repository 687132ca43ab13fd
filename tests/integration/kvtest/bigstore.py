"""Large stores made fast, for the tests and benches that need a million
rows: SQLite fills them itself (a recursive CTE in one transaction), into a
database the real binary migrated (to the latest schema, or to an older one
with `migrate --to N`).  The rows are finished verifications of one key with
a check and an event on every tenth, shaped like the server's own.
"""

import sqlite3

# Columns every schema version since 2 has, in the order of migration 1
# and 2 (migration 9 copies the table with SELECT *).
_COLUMNS = ("id, request_id, key_id, number, number_type, brand,"
            " workflow_id, code_length, pin_hash, steps, wait1_ms, wait2_ms,"
            " wait3_ms, state, created_ms, pin_created_ms, pin_expiry_ms,"
            " expires_ms, finalized_ms, pin_box")

_FILL = """
WITH RECURSIVE s(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM s
                        WHERE i < :last)
INSERT INTO verifications (%s)
SELECT i, printf('%%032x', i * 2654435761), :key,
       printf('91%%010d', 7000000000 + i), 1, 'Bigstore', 1, 4,
       randomblob(32), 'sms,call', 60000, 120000, 180000,
       CASE WHEN :live_every > 0 AND i %% :live_every = 0 THEN 0 ELSE 1 END,
       :t0 + i, :t0 + i, :t0 + i + 300000, :t0 + i + 900000,
       CASE WHEN :live_every > 0 AND i %% :live_every = 0 THEN 0
            ELSE :t0 + i + 1000 END,
       randomblob(40)
FROM s""" % _COLUMNS


def add_key(con, key_id=1):
    """An API key row for the verifications to belong to (no usable secret:
    the rows are read by the tests, not through the API)."""
    con.execute("INSERT OR IGNORE INTO api_keys (id, api_key, secret_hash,"
                " created_ms) VALUES (?, ?, x'00', 0)",
                (key_id, "bigstore%d" % key_id))


def fill(db, n, t0_ms, key_id=1, live_every=0, first=1):
    """Adds verifications with ids first..first+n-1 created at t0_ms + id
    (ms), finished a second later except every `live_every`th (in
    progress), with a check and an event on every tenth.  Returns the
    number of verifications added."""
    con = sqlite3.connect(db, timeout=30)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        add_key(con, key_id)
        last = first + n - 1
        con.execute(_FILL, {"first": first, "last": last, "key": key_id,
                            "live_every": live_every, "t0": t0_ms})
        con.execute("INSERT INTO checks (verification_id, created_ms, code,"
                    " valid, ip) SELECT id, created_ms + 500, '1234', 1,"
                    " '198.51.100.7' FROM verifications"
                    " WHERE id BETWEEN ? AND ? AND id % 10 = 0",
                    (first, last))
        con.execute("INSERT INTO events (verification_id, created_ms, type,"
                    " channel, result) SELECT id, created_ms + 100, 'sms',"
                    " 'sms', 'sent' FROM verifications"
                    " WHERE id BETWEEN ? AND ? AND id % 10 = 0",
                    (first, last))
        con.commit()
    finally:
        con.close()
    return n


def scalar(db, sql, args=()):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def counts(db, tables=("verifications", "checks", "events")):
    """Rows per table."""
    return {t: scalar(db, "SELECT count(*) FROM %s" % t) for t in tables}
