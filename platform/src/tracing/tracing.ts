import {
  type Attributes,
  type Context,
  type DiagLogger,
  type Link,
  type Span,
  type SpanKind,
  type TextMapPropagator,
  type Tracer,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  trace,
} from '@opentelemetry/api';
import { type OpenMetricsContentType, Registry } from 'prom-client';
import type { BusHeaders } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import { tracingSettings } from './settings.js';

// The hot path asks `enabled` (a plain boolean) before it touches anything
// else here: with tracing off no span, context or header is ever made.
let enabled = false;
let tracer: Tracer | undefined;
let propagator: TextMapPropagator | undefined;

/** Whether tracing is on in this process (an exporter is configured and the SDK started). */
export function tracingEnabled(): boolean {
  return enabled;
}

/** A running (or never started) tracing SDK. */
export interface Tracing {
  readonly enabled: boolean;
  readonly serviceName: string;
  /** Exports every span ended so far, then stops the SDK. Idempotent; never rejects. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing for one role from the standard OTEL_* variables (see
 * tracingSettings for when it is on). Throws ConfigError on a bad variable
 * before anything starts; with tracing off it loads no SDK and returns a
 * handle whose shutdown does nothing. The SDK reads process.env itself
 * (exporter, protocol, endpoint, sampler); only traces are set up, no
 * metrics or logs exporters and no auto-instrumentation. One per process.
 */
export async function startTracing(options: { role: string; logger: Logger; env?: NodeJS.ProcessEnv }): Promise<Tracing> {
  const settings = tracingSettings(options.role, options.env ?? process.env);
  const off: Tracing = { enabled: false, serviceName: settings.serviceName, shutdown: () => Promise.resolve() };
  if (!settings.enabled) return off;
  if (enabled) throw new Error('tracing is already started in this process');
  const log = options.logger.child({ component: 'tracing' });
  // Loaded only when on, so a process without tracing never pays for the SDK.
  const { NodeSDK, core, resources } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    resource: resources.defaultResource().merge(resources.resourceFromAttributes({ 'chat.role': options.role })),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  // After the SDK's constructor, which installs a console logger when OTEL_LOG_LEVEL is set.
  diag.setLogger(diagLogger(log), { logLevel: diagLevel(process.env.OTEL_LOG_LEVEL), suppressOverrideMessage: true });
  sdk.start();
  propagator = new core.W3CTraceContextPropagator();
  tracer = trace.getTracer('chat');
  enabled = true;
  log.info({ serviceName: settings.serviceName, exporter: process.env.OTEL_TRACES_EXPORTER ?? 'otlp', sampler: process.env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on' }, 'tracing on');
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    serviceName: settings.serviceName,
    shutdown: () =>
      (stopping ??= sdk.shutdown().then(
        () => {
          enabled = false;
        },
        (err: unknown) => {
          enabled = false;
          log.warn({ err }, 'tracing shutdown failed; spans may be lost');
        },
      )),
  };
}

/** Options of {@link startSpan}. */
export interface SpanOptions {
  kind: SpanKind;
  /** The parent; none: a new trace. */
  parent?: Context | undefined;
  attributes?: Attributes;
  links?: Link[];
  /** Start time in ms since the epoch (default now). */
  startTime?: number;
}

/**
 * Starts a span. Call only when tracingEnabled(): the caller's guard is what
 * keeps tracing free when off.
 */
export function startSpan(name: string, options: SpanOptions): Span {
  return tracer!.startSpan(
    name,
    { kind: options.kind, attributes: options.attributes, links: options.links, startTime: options.startTime },
    options.parent ?? ROOT_CONTEXT,
  );
}

/**
 * Starts a trace at the edge (a WebSocket op, a gRPC call). Undefined when the
 * sampler drops the trace: then nothing downstream is made for it (no spans,
 * no traceparent header, no active context), so an unsampled op costs one
 * sampling decision instead of a trace nobody keeps. Call only when
 * tracingEnabled().
 */
export function startRootSpan(name: string, options: Omit<SpanOptions, 'parent'>): Span | undefined {
  const span = startSpan(name, options);
  if (span.isRecording()) return span;
  span.end();
  return undefined;
}

/** `span` as the current span of `parent` (default: an empty context), to parent further spans with. */
export function contextOf(span: Span, parent: Context = ROOT_CONTEXT): Context {
  return trace.setSpan(parent, span);
}

/** Ends a span, marked failed with `err` when given. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    if (err instanceof Error) span.recordException(err);
  }
  span.end();
}

/** A link to the span of `ctx` (for a span that serves several traces, like a group commit). */
export function linkTo(ctx: Context): Link | undefined {
  const span = trace.getSpan(ctx);
  return span ? { context: span.spanContext() } : undefined;
}

/** Bus headers carrying `ctx`'s span as W3C traceparent (and tracestate), added to a copy of `headers`. */
export function traceHeaders(ctx: Context, headers?: BusHeaders): BusHeaders {
  const carrier: Record<string, string> = headers ? { ...headers } : {};
  propagator?.inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}

/** The remote parent a message's headers carry; undefined when they carry none (or tracing is off). */
export function contextFromHeaders(headers: BusHeaders | undefined): Context | undefined {
  if (!enabled || headers?.traceparent === undefined) return undefined;
  return propagator!.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/** Runs `fn` with `ctx` as the active context, kept across its awaits (undefined: no active span). */
export function withContext<T>(ctx: Context | undefined, fn: () => T): T {
  return context.with(ctx ?? ROOT_CONTEXT, fn);
}

/** The active context when it holds a span (see withContext); undefined otherwise or when tracing is off. */
export function activeSpanContext(): Context | undefined {
  if (!enabled) return undefined;
  const ctx = context.active();
  return trace.getSpan(ctx) ? ctx : undefined;
}

/** The trace id of `ctx`'s span when that trace is sampled (for exemplars), else undefined. */
export function sampledTraceId(ctx: Context | undefined): string | undefined {
  const sc = ctx && trace.getSpan(ctx)?.spanContext();
  return sc && sc.traceFlags & TraceFlags.SAMPLED ? sc.traceId : undefined;
}

/**
 * With tracing on, switches `registry` to the OpenMetrics text format, the
 * only one that carries exemplars; with tracing off it is left alone, so
 * /metrics stays in the Prometheus text format.
 */
export function openMetricsWhenTracing(registry: Registry): void {
  // The registry's type pins its format; the format is what this switches.
  if (enabled) (registry as unknown as Registry<OpenMetricsContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
}

function diagLogger(log: Logger): DiagLogger {
  return {
    error: (message, ...args) => log.error({ args }, message),
    warn: (message, ...args) => log.warn({ args }, message),
    info: (message, ...args) => log.info({ args }, message),
    debug: (message, ...args) => log.debug({ args }, message),
    verbose: (message, ...args) => log.trace({ args }, message),
  };
}

function diagLevel(level: string | undefined): DiagLogLevel {
  switch (level?.trim().toUpperCase()) {
    case 'NONE':
      return DiagLogLevel.NONE;
    case 'ERROR':
      return DiagLogLevel.ERROR;
    case 'INFO':
      return DiagLogLevel.INFO;
    case 'DEBUG':
      return DiagLogLevel.DEBUG;
    case 'VERBOSE':
    case 'ALL':
      return DiagLogLevel.ALL;
    default:
      return DiagLogLevel.WARN;
  }
}
