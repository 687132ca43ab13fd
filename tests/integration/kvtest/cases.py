"""The unittest base classes: which programs a TestCase class gets, for how
long, and how they are closed even when the set-up fails half way."""

import unittest

from .assertions import DialectSteps, ReplyAssertions
from .config import sim_settings
from .process import Server, Sim, free_port, started_sim
from .waiting import poll_until


def start_on_free_port(make, cleanup=None):
    """make(port) is a Server that must know its own port before it starts
    (its public_base_url names it); starts one on a port free_port() chose.
    A parallel test may bind that port first, and the server then exits:
    another port is tried, up to three (CI saw it once).  cleanup(close),
    when given, is called for each server made."""
    for attempt in range(3):
        srv = make(free_port())
        if cleanup:
            cleanup(srv.close)
        try:
            srv.start()
            return srv
        except AssertionError as e:
            if not cleanup:
                srv.close()
            if attempt == 2 or "Address already in use" not in str(e):
                raise


class KVTestCase(ReplyAssertions, DialectSteps, unittest.TestCase):
    """One server per TestCase class, with the settings in `settings`
    (per_test = True: a fresh server for each test instead)."""

    settings = {}
    nkeys = 1
    numbers = 60
    per_test = False
    server = None
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.per_test:
            return
        cls.server = Server(cls.settings, nkeys=cls.nkeys, numbers=cls.numbers,
                            name=cls.__name__)
        try:
            cls.server.start()
        except BaseException:
            cls.server.close()
            cls.server = None
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server is not None:
                cls.server.close()
        finally:
            cls.server = None
            super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.per_test:
            self.server = Server(self.settings, nkeys=self.nkeys,
                                 numbers=self.numbers,
                                 name=self._testMethodName)
            # close() runs even when setUp or the test fails.
            self.addCleanup(self._close_test_server)
            self.server.start()

    def start_server(self, settings=None, port=0):
        """Starts a server for this test only (closed at cleanup, even when
        the test fails) and makes it self.server; returns it."""
        srv = Server(settings, nkeys=self.nkeys, numbers=self.numbers,
                     name=self._testMethodName, port=port)
        self.addCleanup(srv.close)
        srv.start()
        self.server = srv
        return srv

    def _close_test_server(self):
        if self.server is not None:
            srv, self.server = self.server, None
            srv.close()

    def tearDown(self):
        # Name the test during which a sanitizer reported.
        if self.server is not None:
            self.server.check_stderr()
        super().tearDown()

    @property
    def s(self):
        return self.server


class WiredTestCase(KVTestCase):
    """One KooKoo provider and one server wired to it for the whole class.

    The provider is a simulator named `sim_name`, or what a subclass's
    make_provider() gives (a fake with the same base_url and close()).
    The server's settings are in `wired_settings`; a subclass may add to
    the running server in after_start().  Both are closed at the end, also
    when the set-up fails half way."""

    provider = None
    wired_settings = {}
    sim_name = "sim"

    @classmethod
    def make_provider(cls):
        return started_sim(cls.sim_name)

    @classmethod
    def after_start(cls):
        pass

    @classmethod
    def setUpClass(cls):
        # Not KVTestCase's: the server must know its own port beforehand.
        super(KVTestCase, cls).setUpClass()
        try:
            cls.provider = cls.make_provider()
            cls.server = start_on_free_port(
                lambda port: Server(sim_settings(cls.provider, port,
                                                 **cls.wired_settings),
                                    name=cls.__name__, port=port))
            cls.after_start()
        except BaseException:
            cls._close_all()
            raise

    @classmethod
    def _close_all(cls):
        try:
            if cls.server is not None:
                cls.server.close()
        finally:
            cls.server = None
            if cls.provider is not None:
                provider, cls.provider = cls.provider, None
                provider.close()

    @classmethod
    def tearDownClass(cls):
        try:
            cls._close_all()
        finally:
            super(KVTestCase, cls).tearDownClass()


class SimTestCase(KVTestCase):
    """One KooKoo simulator per TestCase class (reset before each test) and
    no class-wide server: each test starts a server wired to the simulator
    with wire(**settings)."""

    per_test = True
    sim = None
    sim_name = "sim"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = Sim(cls.sim_name)
        try:
            cls.sim.start()
        except BaseException:
            cls.sim.close()
            cls.sim = None
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.sim is not None:
                cls.sim.close()
        finally:
            cls.sim = None
            super().tearDownClass()

    def setUp(self):
        # Not KVTestCase.setUp: its per-test server has no sim settings.
        unittest.TestCase.setUp(self)
        self.server = None
        self.sim.reset()

    def wait_sms(self, number, count=1, timeout=8.0):
        """Polls the number's inbox until it holds `count` SMS; returns
        their texts."""
        def enough():
            texts = self.sim.sms(number)
            return texts if len(texts) >= count else None
        return poll_until(enough, timeout, "%d SMS to %s" % (count, number),
                          interval=0.05,
                          detail=lambda: self.sim.inbox(number))

    def wire(self, **overrides):
        """Starts a server wired to the simulator (overrides: settings)."""
        srv = start_on_free_port(
            lambda port: Server(sim_settings(self.sim, port, **overrides),
                                nkeys=self.nkeys, numbers=self.numbers,
                                name=self._testMethodName, port=port),
            self.addCleanup)
        self.server = srv
        return srv
