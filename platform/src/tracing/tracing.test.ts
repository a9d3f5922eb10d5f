import { describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { tracingSettings } from './settings.js';
import { activeSpanContext, contextFromHeaders, openMetricsWhenTracing, startTracing, tracingEnabled } from './tracing.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing settings (OTEL_* environment)', () => {
  it.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'false' }, true],
  ])('%j → on: %s', (env, on) => {
    expect(tracingSettings('gateway', env).enabled).toBe(on);
  });

  it('names the service chat-<role> unless OTEL_SERVICE_NAME says otherwise', () => {
    expect(tracingSettings('actors', {}).serviceName).toBe('chat-actors');
    expect(tracingSettings('actors', { OTEL_SERVICE_NAME: 'edge-eu' }).serviceName).toBe('edge-eu');
  });

  it.each([
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'abc' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER'],
    [{ OTEL_TRACES_EXPORTER: 'jaeger' }, 'OTEL_TRACES_EXPORTER'],
    [{ OTEL_TRACES_EXPORTER: 'none,otlp' }, 'OTEL_TRACES_EXPORTER'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http' }, 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'udp' }, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ OTEL_SDK_DISABLED: 'maybe' }, 'OTEL_SDK_DISABLED'],
  ])('%j fails with a ConfigError naming %s, tracing on or off', (env, name) => {
    let caught: unknown;
    try {
      tracingSettings('gateway', env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([expect.stringMatching(new RegExp(`^${name}: .*\\(got "`))]);
  });

  it('startTracing refuses a bad setting before starting anything', async () => {
    await expect(startTracing({ role: 'gateway', logger: silentLogger(), env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '-1' } })).rejects.toThrow(
      /OTEL_TRACES_SAMPLER_ARG: expected a sampling ratio from 0 to 1/,
    );
    expect(tracingEnabled()).toBe(false);
  });
});

describe('tracing off', () => {
  it('loads no SDK, registers no tracer, ignores incoming trace headers and leaves /metrics in the Prometheus format', async () => {
    const tracing = await startTracing({ role: 'gateway', logger: silentLogger(), env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
    expect(tracing.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    // The global provider is still the API's no-op one: nothing could record a span.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
    expect(contextFromHeaders({ traceparent: TRACEPARENT })).toBeUndefined();
    expect(activeSpanContext()).toBeUndefined();
    const registry = new Registry();
    openMetricsWhenTracing(registry);
    expect(registry.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    await tracing.shutdown();
  });
});
