import { type Server, createServer } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { PortUnavailableError } from '../errors.js';

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface OpsEndpoints {
  registry: Registry;
  /** The /readyz check. */
  ready: () => boolean;
  logger: Logger;
}

/** One answer of the ops endpoints, whatever serves it (node:http here, uWS on a standalone gateway's main port). */
export interface OpsAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** The paths the ops endpoints answer. */
export const OPS_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/**
 * What GET `path` answers: /healthz 200 (alive), /readyz 200 or 503 (the
 * `ready` check), /metrics the registry's text (500 if collecting fails);
 * undefined for any other path. /healthz and /readyz answer synchronously.
 */
export function answerOps(path: string, o: OpsEndpoints): OpsAnswer | Promise<OpsAnswer> | undefined {
  const text = 'text/plain; charset=utf-8';
  if (path === '/healthz') return { status: 200, contentType: text, body: 'ok' };
  if (path === '/readyz') return o.ready() ? { status: 200, contentType: text, body: 'ready' } : { status: 503, contentType: text, body: 'not ready' };
  if (path === '/metrics') {
    return o.registry.metrics().then(
      (body) => ({ status: 200, contentType: o.registry.contentType, body }),
      (err: unknown) => {
        o.logger.error({ err }, 'metrics collection failed');
        return { status: 500, contentType: text, body: 'metrics collection failed' };
      },
    );
  }
  return undefined;
}

/**
 * The operational HTTP endpoints (answerOps) on a port of their own: the
 * whole HTTP surface of actors and presence, and a gateway's OPS_PORT, apart
 * from the public port. Listens exclusively, so a taken port fails the start
 * instead of being shared; `setting` names the variable to change then
 * (default PORT). Node's accept loop survives running out of file
 * descriptors (libuv sheds the connection), so this keeps answering where a
 * busy public listener might not.
 */
export function startOpsServer(options: OpsEndpoints & { port: number; setting?: string; host?: string }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const write = (a: OpsAnswer) => res.writeHead(a.status, { 'content-type': a.contentType }).end(a.body);
    const answer = answerOps(path, options);
    if (answer === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    else if (answer instanceof Promise) void answer.then(write);
    else write(answer);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new PortUnavailableError(options.port, options.setting ?? 'PORT', { cause: err })));
    server.listen({ port: options.port, exclusive: true, ...(options.host ? { host: options.host } : {}) }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      options.logger.info({ port }, 'ops endpoints listening');
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // A scraper's keep-alive connection must not hold the stop.
            server.closeAllConnections();
          }),
      });
    });
  });
}
