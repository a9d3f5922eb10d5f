// Tracing (OpenTelemetry): the one place roles start it and make spans.
export { SpanKind, type Context, type Link, type Span } from '@opentelemetry/api';
export { type TracingSettings, tracingSettings } from './settings.js';
export {
  type SpanOptions,
  type Tracing,
  activeSpanContext,
  contextFromHeaders,
  contextOf,
  endSpan,
  linkTo,
  openMetricsWhenTracing,
  sampledTraceId,
  startSpan,
  startRootSpan,
  startTracing,
  traceHeaders,
  tracingEnabled,
  withContext,
} from './tracing.js';
