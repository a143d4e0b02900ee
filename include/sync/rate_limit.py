"""The request rate to Customer Profiles and SES: ``AdaptiveRateLimiter``.

Requests (retries included) are spaced by ``AdaptiveRateLimiter``: at most the configured
ceiling, 5 % slower after each ThrottlingException, 1 % of the ceiling faster after each
accepted request. botocore retries the throttled request itself (standard mode,
exponential backoff with jitter). botocore's own adaptive mode cuts the rate by 30 % on
every throttle: measured with 10 % of requests throttled at random it sank to ~3 % of the
ceiling (bench/results/customer_profiles_sync.md). Concurrency is bounded by a thread pool, and every task that
calls these APIs runs in the Airflow pool ``SYNC_POOL`` (one slot), so the ceiling holds
for the account, not per task.
"""

from __future__ import annotations

import threading
import time

from botocore.retries import standard


class AdaptiveRateLimiter:
    """Spaces requests at most 1/rate apart across threads; AIMD on throttling.

    Each throttled response multiplies the rate by ``DECREASE``; each accepted one adds
    ``INCREASE`` of the ceiling. With one request in ten throttled it averages ~97 % of the
    ceiling; one in five, ~78 %; one in three, ~45 %; one in two, ~20 %: sparse throttles
    cost little, sustained throttling slows it to what the service accepts.
    """

    DECREASE = 0.95
    INCREASE = 0.01

    def __init__(self, ceiling: float):
        self.ceiling = ceiling
        self.rate = ceiling
        self.requests = self.throttled = 0
        self._next = time.monotonic()
        self._lock = threading.Lock()
        self._throttling = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + 1.0 / self.rate
            self.requests += 1
        if start > now:
            time.sleep(start - now)

    def record(self, throttled: bool) -> None:
        with self._lock:
            if throttled:
                self.throttled += 1
                self.rate = max(self.ceiling * self.INCREASE, self.rate * self.DECREASE)
            else:
                self.rate = min(self.ceiling, self.rate + self.ceiling * self.INCREASE)

    def attach(self, client) -> AdaptiveRateLimiter:
        """Govern every request ``client`` sends, botocore's retries included."""
        client.meta.events.register("before-send", self._before_send)
        client.meta.events.register("needs-retry", self._after_response)
        return self

    def _before_send(self, **kwargs) -> None:
        self.acquire()

    def _after_response(self, response=None, **kwargs) -> None:
        if response is None:  # a connection error: says nothing about the service's rate
            return
        throttled = self._throttling.is_throttling_error(response=response, **kwargs)
        if throttled or response[0].status_code < 400:
            self.record(throttled)
