import time


class Compiled:
    """An expensive object built from database rows (the topic automaton, the gazetteer), kept per process
    and rebuilt only when ``signature()`` (one cheap aggregate query) changes. Call ``get()`` once per
    batch. Two threads that find it stale at once both rebuild it; the last one wins, which is harmless.

    With ``recheck`` (seconds), the signature is looked at no more often than that: for rows that change
    rarely and whose changes in this process call ``forget()`` at once, so only changes made by another
    process wait up to ``recheck`` seconds.
    """

    def __init__(self, signature, build, *, recheck=0):
        self.signature, self.build, self.recheck = signature, build, recheck
        self.cached = None  # (signature, object)
        self.checked_at = 0.0

    def get(self):
        cached = self.cached
        if cached is not None and self.recheck and time.monotonic() - self.checked_at < self.recheck:
            return cached[1]
        signature = self.signature()
        self.checked_at = time.monotonic()
        if cached is not None and cached[0] == signature:
            return cached[1]
        built = self.build()
        self.cached = (signature, built)
        return built

    def forget(self):
        self.cached = None
