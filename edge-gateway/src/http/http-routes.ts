import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import { type Logger, OPS_PATHS, type OpsAnswer, type Registry, answerOps } from '@chat/platform';
import { type HmacTokenAuthority, devUserIdFor } from '../auth/token-authority.js';
import type { UserRegistrar } from '../auth/user-registrar.js';
import { textOfUnits } from '@chat/proto';
import { StaticFiles } from './static-files.js';
import { readBody, respond, respondJson, trackAborted } from './http-util.js';

export interface HttpRouteOptions {
  registry: Registry;
  logger: Logger;
  ready(): boolean;
  /** Serve /healthz, /readyz and /metrics here too (a standalone gateway without an ops port). */
  opsEndpoints: boolean;
  devLogin: { authority: HmacTokenAuthority; ttlSeconds: number } | undefined;
  registrar: UserRegistrar;
  webDir: string | undefined;
}

// A display name: counted in UTF-16 units and well-formed, like every text the protocol stores.
const devLoginSchema = z.object({ name: z.string().trim().min(1).pipe(textOfUnits(64)) });

/**
 * The gateway's public HTTP surface: dev login and the web client, and, only
 * where `opsEndpoints` is set, the ops endpoints (answerOps, the same answers
 * as the ops server's).
 */
export function registerHttpRoutes(app: TemplatedApp, o: HttpRouteOptions): void {
  if (o.opsEndpoints) {
    const status: Record<number, string> = { 200: '200 OK', 500: '500 Internal Server Error', 503: '503 Service Unavailable' };
    for (const path of OPS_PATHS) {
      app.get(path, (res) => {
        const write = (a: OpsAnswer) => respond(res, status[a.status] ?? String(a.status), a.body, a.contentType);
        const answer = answerOps(path, o)!;
        if (!(answer instanceof Promise)) {
          write(answer);
          return;
        }
        const state = trackAborted(res);
        void answer.then((a) => !state.aborted && write(a));
      });
    }
  } else {
    // Said plainly, not answered by the web client's fallback page: a probe or scraper pointed here must fail.
    for (const path of OPS_PATHS) app.get(path, (res) => respond(res, '404 Not Found', `${path} is served on the ops port (OPS_PORT), not here`));
  }

  app.post('/v1/auth/dev-login', (res) => {
    const state = trackAborted(res);
    const dev = o.devLogin;
    if (!dev) {
      respondJson(res, '404 Not Found', { error: { code: 'not_found', message: 'dev login is disabled' } });
      return;
    }
    readBody(res, 4096)
      .then(async (body) => {
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          json = undefined;
        }
        const parsed = devLoginSchema.safeParse(json);
        const id = parsed.success ? devUserIdFor(parsed.data.name) : null;
        if (!parsed.success || !id) {
          if (!state.aborted) respondJson(res, '400 Bad Request', { error: { code: 'bad_request', message: 'send {"name": "<1-64 characters with a letter or digit, not starting with bot_>"}' } });
          return;
        }
        const user = { id, name: parsed.data.name };
        await o.registrar.ensure(user);
        const token = dev.authority.issue(user, dev.ttlSeconds);
        if (!state.aborted) respondJson(res, '200 OK', { token, user });
      })
      .catch((err: unknown) => {
        o.logger.warn({ err }, 'dev login failed');
        if (!state.aborted) respondJson(res, '400 Bad Request', { error: { code: 'bad_request', message: err instanceof Error ? err.message : 'bad request' } });
      });
  });

  const files = o.webDir ? new StaticFiles(o.webDir) : undefined;
  app.get('/*', (res, req) => {
    const file = files?.lookup(req.getUrl(), req.getHeader('accept-encoding'));
    if (!file) {
      respond(res, '404 Not Found', 'not found');
      return;
    }
    const headers: Record<string, string> = { 'Cache-Control': file.cacheControl };
    if (file.negotiated) headers.Vary = 'Accept-Encoding';
    if (file.encoding) headers['Content-Encoding'] = file.encoding;
    respond(res, '200 OK', file.body, file.contentType, headers);
  });
}
