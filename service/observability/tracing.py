"""Traces through OpenTelemetry, when configured: grpc.aio calls, asyncpg and Redis commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Tracing = Literal["off", "otlp", "console"]


def start_tracing(mode: Tracing, service_name: str = "engagement") -> Callable[[], None]:
    """Install the tracer and the instrumentations before the server and clients are built;
    return what flushes and removes them. `otlp` exports to the collector that the standard
    OTEL_EXPORTER_OTLP_* variables name (gRPC, localhost:4317 by default); `console` prints
    each span as JSON on stdout."""
    if mode == "off":
        return lambda: None
    # Imported only when asked for: they patch grpc, asyncpg and redis-py as they instrument.
    from opentelemetry import trace  # noqa: PLC0415
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor  # noqa: PLC0415
    from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer  # noqa: PLC0415
    from opentelemetry.instrumentation.redis import RedisInstrumentor  # noqa: PLC0415
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    processor: SpanProcessor = (
        BatchSpanProcessor(OTLPSpanExporter())
        if mode == "otlp"
        else SimpleSpanProcessor(ConsoleSpanExporter())
    )
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    instrumentors = (
        GrpcAioInstrumentorServer(),  # type: ignore[no-untyped-call]
        AsyncPGInstrumentor(),  # type: ignore[no-untyped-call]
        RedisInstrumentor(),
    )
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider)

    def stop() -> None:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        provider.shutdown()

    return stop
