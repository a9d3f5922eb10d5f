import { type IncomingMessage, type Server, createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** OTLP span kinds (SpanKind + 1 of @opentelemetry/api). */
export const OTLP_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

/** One span as an OTLP/HTTP JSON export carried it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Undefined for a trace's root. */
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  /** The exporting process's service.name resource attribute. */
  serviceName: string;
  /** Its other resource attributes (chat.role among them), and the span's own, as plain values. */
  resource: Record<string, unknown>;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  startMs: number;
  endMs: number;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: OtlpAttribute[];
  links?: { traceId: string; spanId: string }[];
}
interface OtlpExport {
  resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

/**
 * Test-only: an OTLP/HTTP trace receiver on a random loopback port, for
 * exporters configured with OTEL_EXPORTER_OTLP_PROTOCOL=http/json (see
 * env()). It accepts POST /v1/traces, answers 200, and keeps every span.
 */
export class OtlpReceiver {
  readonly #spans: ReceivedSpan[] = [];
  readonly #waiters = new Set<() => void>();
  /** Export requests received (an exporter that sends nothing leaves this at 0). */
  exports = 0;

  private constructor(
    private readonly server: Server,
    /** http://127.0.0.1:<port>: the OTLP endpoint (exporters add /v1/traces). */
    readonly url: string,
  ) {}

  static start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((req, res) => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      readBody(req).then(
        (body) => {
          try {
            receiver!.#receive(JSON.parse(body.toString('utf8')) as OtlpExport);
          } catch (err) {
            res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        },
        () => res.writeHead(400).end(),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        receiver = new OtlpReceiver(server, `http://127.0.0.1:${port}`);
        resolve(receiver);
      });
    });
  }

  /**
   * The OTEL_* variables that send a process's traces here as http/json,
   * exported every 100 ms (instead of 5 s) so tests need not wait.
   */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_ENDPOINT: this.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      ...extra,
    };
  }

  /** Every span received so far. */
  get spans(): readonly ReceivedSpan[] {
    return this.#spans;
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.#spans.filter((s) => s.traceId === traceId);
  }

  /** Resolves with the spans received once `done` accepts them; rejects after `timeoutMs` with what came. */
  waitFor(done: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs = 10_000): Promise<readonly ReceivedSpan[]> {
    if (done(this.#spans)) return Promise.resolve(this.#spans);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done(this.#spans)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.#spans);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const names = this.#spans.map((s) => `${s.serviceName}:${s.name}`).join(', ');
        reject(new Error(`spans not received within ${timeoutMs} ms; got ${this.#spans.length}: ${names}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Forgets the spans received so far. */
  clear(): void {
    this.#spans.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #receive(body: OtlpExport): void {
    this.exports++;
    for (const rs of body.resourceSpans ?? []) {
      const resource = attributesOf(rs.resource?.attributes);
      const serviceName = String(resource['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.#spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ? s.parentSpanId : undefined,
            name: s.name,
            kind: s.kind ?? 0,
            serviceName,
            resource,
            attributes: attributesOf(s.attributes),
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            startMs: Number(s.startTimeUnixNano ?? 0) / 1e6,
            endMs: Number(s.endTimeUnixNano ?? 0) / 1e6,
          });
        }
      }
    }
    for (const check of [...this.#waiters]) check();
  }
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    if (!value) continue;
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}
