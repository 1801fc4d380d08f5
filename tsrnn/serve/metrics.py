"""The server's Prometheus metrics, in a registry of its own: requests, errors, latency, batch sizes, reloads."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536)


class Metrics:
    """Every metric the server exports at /metrics."""

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: a scrape shows counts, not the times they began
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tsrnn_requests", "HTTP requests answered, by route and status code", ["route", "code"], registry=r
        )
        self.errors = Counter(
            "tsrnn_errors",
            "Requests answered with an error (4xx or 5xx), by route and status code",
            ["route", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "tsrnn_request_seconds",
            "Time from a request's arrival to its answer",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_windows = Histogram(
            "tsrnn_batch_windows", "Windows (series) per ONNX Runtime call", ["model"], buckets=SIZE_BUCKETS, registry=r
        )
        self.batch_requests = Histogram(
            "tsrnn_batch_requests",
            "Requests merged into one ONNX Runtime call",
            ["model"],
            buckets=SIZE_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "tsrnn_batch_seconds", "Time of one ONNX Runtime call", ["model"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.reloads = Counter(
            "tsrnn_reloads", "Model reloads, by model and result (ok or refused)", ["model", "result"], registry=r
        )

    def observe_batch(self, model: str, windows: int, requests: int, seconds: float) -> None:
        self.batch_windows.labels(model).observe(windows)
        self.batch_requests.labels(model).observe(requests)
        self.batch_seconds.labels(model).observe(seconds)

    def observe_reload(self, model: str, ok: bool) -> None:
        self.reloads.labels(model, "ok" if ok else "refused").inc()

    def observe_request(self, route: str, code: int, seconds: float) -> None:
        self.requests.labels(route, str(code)).inc()
        if code >= 400:
            self.errors.labels(route, str(code)).inc()
        self.latency.labels(route).observe(seconds)

    def text(self) -> bytes:
        return generate_latest(self.registry)
