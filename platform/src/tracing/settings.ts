import { ConfigError } from '../errors.js';

/** OTEL_TRACES_SAMPLER values the SDK understands. */
const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
const EXPORTERS = ['otlp', 'console', 'zipkin', 'none'] as const;
const PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const;

/** What the OTEL_* environment asks of tracing, checked. */
export interface TracingSettings {
  /** Whether spans are made and exported at all. */
  readonly enabled: boolean;
  /** OTEL_SERVICE_NAME if set, else `chat-<role>`. */
  readonly serviceName: string;
}

/**
 * Reads and checks the OTEL_* variables that decide tracing. Tracing is on
 * only when an exporter is configured: OTEL_TRACES_EXPORTER names one (not
 * `none`), or it is unset and an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is. OTEL_SDK_DISABLED=true turns it off.
 * Throws ConfigError naming each bad variable, whether or not tracing is on,
 * so a typo fails at start instead of silently tracing nothing.
 */
export function tracingSettings(role: string, env: NodeJS.ProcessEnv = process.env): TracingSettings {
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === '' ? undefined : v;
  };
  const problems: string[] = [];
  const bad = (name: string, expected: string) => problems.push(`${name}: ${expected} (got ${JSON.stringify(env[name])})`);

  const disabled = get('OTEL_SDK_DISABLED')?.toLowerCase();
  if (disabled !== undefined && disabled !== 'true' && disabled !== 'false') bad('OTEL_SDK_DISABLED', 'expected true or false');

  const exporters = get('OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (exporters) {
    const unknown = exporters.filter((e) => !(EXPORTERS as readonly string[]).includes(e));
    if (unknown.length > 0) bad('OTEL_TRACES_EXPORTER', `expected a comma-separated list of ${EXPORTERS.join(', ')}`);
    else if (exporters.includes('none') && exporters.length > 1) bad('OTEL_TRACES_EXPORTER', '`none` cannot be combined with other exporters');
  }
  for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    const protocol = get(name);
    if (protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(protocol)) bad(name, `expected one of ${PROTOCOLS.join(', ')}`);
  }
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    const url = get(name);
    if (url !== undefined && !URL.canParse(url)) bad(name, 'expected a URL such as http://127.0.0.1:4318');
  }

  const sampler = get('OTEL_TRACES_SAMPLER');
  if (sampler !== undefined && !(SAMPLERS as readonly string[]).includes(sampler)) bad('OTEL_TRACES_SAMPLER', `expected one of ${SAMPLERS.join(', ')}`);
  const arg = get('OTEL_TRACES_SAMPLER_ARG');
  if (arg !== undefined && (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio')) {
    const ratio = Number(arg);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) bad('OTEL_TRACES_SAMPLER_ARG', `expected a sampling ratio from 0 to 1 for ${sampler}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const endpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? get('OTEL_EXPORTER_OTLP_ENDPOINT');
  const exporting = exporters ? !exporters.includes('none') : endpoint !== undefined;
  return { enabled: disabled !== 'true' && exporting, serviceName: get('OTEL_SERVICE_NAME') ?? `chat-${role}` };
}
