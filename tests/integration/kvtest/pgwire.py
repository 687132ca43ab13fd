"""The little of PostgreSQL's frontend/backend protocol (version 3) that
the tests' SQL needs, so that a query reuses a session instead of running
psql: each psql run costs a process here and a forked backend on the
server, tens of milliseconds of CPU between them.

Only what the tests' own cluster offers: a Unix socket, `trust`
authentication, the simple query protocol, results in text.  Sessions
are pooled per database; a session the server ended while it sat idle
(a restart, DROP DATABASE ... WITH (FORCE)) is replaced and the query
sent again, since the server never read it.
"""

import os
import socket
import struct
import threading

PROTOCOL_3_0 = 196608
TIMEOUT = 60.0


class PgError(Exception):
    """An ErrorResponse: fields maps PostgreSQL's field codes (S, C, M...)
    to their text."""

    def __init__(self, fields):
        self.fields = fields
        super().__init__("%s: %s (SQLSTATE %s)" % (
            fields.get("S", "ERROR"), fields.get("M", "?"),
            fields.get("C", "?")))

    @property
    def fatal(self):
        return self.fields.get("V", self.fields.get("S")) in ("FATAL",
                                                              "PANIC")


class Gone(ConnectionError):
    """The server closed the session."""


class Stale(Exception):
    """The session had ended before the query reached it: the server
    closed it, or said why (FATAL), before any answer to the query."""


class Session:
    """One session on sockdir's server, to database dbname as user."""

    def __init__(self, sockdir, port, user, dbname):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        try:
            self.sock.connect(os.path.join(sockdir, ".s.PGSQL.%d" % port))
            params = b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                              for k, v in (("user", user),
                                           ("database", dbname),
                                           ("application_name", "kvtest"),
                                           ("client_encoding", "UTF8")))
            body = struct.pack("!i", PROTOCOL_3_0) + params + b"\0"
            self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
            self._until_ready()
        except BaseException:
            self.sock.close()
            raise

    def close(self):
        try:
            self.sock.sendall(b"X" + struct.pack("!i", 4))
        except OSError:
            pass
        self.sock.close()

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Gone("the server closed the session")
            buf += chunk
        return buf

    def _message(self):
        head = self._read(5)
        kind, length = head[:1], struct.unpack("!i", head[1:])[0]
        return kind, self._read(length - 4)

    def _until_ready(self):
        """Reads the start-up exchange up to ReadyForQuery."""
        while True:
            kind, body = self._message()
            if kind == b"R":
                code = struct.unpack("!i", body[:4])[0]
                if code != 0:
                    raise AssertionError("the tests' PostgreSQL asked for "
                                         "authentication %d; it must "
                                         "trust its socket" % code)
            elif kind == b"E":
                raise PgError(_error_fields(body))
            elif kind == b"Z":
                return

    def query(self, sql):
        """Runs sql (one or more statements); returns the rows of the
        last statement that had any, each a tuple of str or None.
        Raises Stale when the session had ended before the query."""
        body = sql.encode("utf-8") + b"\0"
        try:
            self.sock.sendall(b"Q" + struct.pack("!i", len(body) + 4)
                              + body)
            kind, body = self._message()
        except socket.timeout:
            raise
        except OSError as e:  # Gone too
            raise Stale(str(e))
        if kind == b"E" and PgError(_error_fields(body)).fatal:
            raise Stale(PgError(_error_fields(body)))
        rows, current, error = [], None, None
        while kind != b"Z":
            if kind == b"T":
                current = []
            elif kind == b"D":
                current.append(_data_row(body))
            elif kind == b"C" and current is not None:
                rows, current = current, None
            elif kind == b"E":
                error = PgError(_error_fields(body))
                if error.fatal:
                    raise error
            kind, body = self._message()
        if error is not None:
            raise error
        return rows


def _error_fields(body):
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def _data_row(body):
    n = struct.unpack("!h", body[:2])[0]
    pos, row = 2, []
    for _ in range(n):
        size = struct.unpack("!i", body[pos:pos + 4])[0]
        pos += 4
        if size < 0:
            row.append(None)
        else:
            row.append(body[pos:pos + size].decode("utf-8"))
            pos += size
    return tuple(row)


class Pool:
    """Idle sessions per database, for any thread."""

    def __init__(self, sockdir, port, user):
        self.sockdir, self.port, self.user = sockdir, port, user
        self._idle = {}
        self._lock = threading.Lock()

    def query(self, dbname, sql):
        """Runs sql on an idle session of dbname, or on a new one when
        there is none or the idle one had ended."""
        with self._lock:
            idle = self._idle.get(dbname)
            s = idle.pop() if idle else None
        for fresh in ((False, True) if s is not None else (True,)):
            if fresh:
                s = Session(self.sockdir, self.port, self.user, dbname)
            try:
                rows = s.query(sql)
            except Stale:
                s.sock.close()
                if fresh:
                    raise
                continue
            except PgError as e:
                if e.fatal:
                    s.sock.close()
                else:
                    self._put(dbname, s)
                raise
            except BaseException:
                s.sock.close()
                raise
            self._put(dbname, s)
            return rows

    def _put(self, dbname, s):
        with self._lock:
            self._idle.setdefault(dbname, []).append(s)

    def forget(self, dbname=None):
        """Closes the idle sessions of dbname (None: of every database)."""
        with self._lock:
            if dbname is None:
                gone = [s for v in self._idle.values() for s in v]
                self._idle.clear()
            else:
                gone = self._idle.pop(dbname, [])
        for s in gone:
            s.close()
