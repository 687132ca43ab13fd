"""FaultControl: a test case mixin that arms the server's fault hook
(the `fault_file` setting, src/faultvfs.c) and waits until the server says
it did.  The test sets self.control to the control file's path."""

import os

from .logscan import events
from .waiting import poll_until


class FaultControl:
    control = None

    def log(self):
        """The whole stderr of the server's current run."""
        with open(self.server.stderr_paths[-1], "rb") as f:
            return f.read().decode("utf-8", "replace")

    def count_log(self, mark):
        """How often the current run logged `mark`: a text, or an (event,
        fields) pair in either log format."""
        if isinstance(mark, tuple):
            return len(events(self.log(), mark[0], **mark[1]))
        return self.log().count(mark)

    def wait_log(self, text, before=0, timeout=3.0):
        """Polls the current run's stderr until `text` appears more than
        `before` times."""
        poll_until(lambda: self.count_log(text) > before, timeout,
                   "the server to log %r" % (text,), interval=0.02,
                   detail=lambda: self.log()[-3000:])

    def set_fault(self, word):
        """Writes `word` ("" = none) to the control file and waits until the
        server armed it (the hook polls every 100 ms)."""
        mark = (("faultvfs.armed", {"fault": word}) if word
                else ("faultvfs.disarmed", {}))
        before = self.count_log(mark)
        tmp = self.control + ".tmp"
        with open(tmp, "w") as f:
            f.write(word)
        os.replace(tmp, self.control)
        self.wait_log(mark, before)

    def fault(self, word):
        """set_fault(word), cleared at cleanup if the test fails first (so
        the server can stop cleanly)."""
        def clear():
            if os.path.getsize(self.control) and self.server is not None \
                    and self.server.alive():
                self.set_fault("")
        self.addCleanup(clear)
        self.set_fault(word)
