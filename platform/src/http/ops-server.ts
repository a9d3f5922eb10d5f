import { type Server, createServer } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { PortUnavailableError } from '../errors.js';

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The operational HTTP endpoints of a role without a gateway (actors,
 * presence): GET /healthz (alive), GET /readyz (the `ready` check) and
 * GET /metrics (Prometheus text). Listens exclusively, so a taken port fails
 * the start instead of being shared.
 */
export function startOpsServer(options: { port: number; registry: Registry; ready: () => boolean; logger: Logger }): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const ready = options.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready' : 'not ready');
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: unknown) => {
          options.logger.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new PortUnavailableError(options.port, 'PORT', { cause: err })));
    server.listen({ port: options.port, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      options.logger.info({ port }, 'ops endpoints listening');
      resolve({
        port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
