#!/usr/bin/env node
// The container image's HEALTHCHECK (slim images have no curl): GET /healthz of
// the `chat` role running in this container, exit 0 when it answers 200.
//
//   node deploy/bin/healthcheck.mjs                         /healthz on the role's own port
//   node deploy/bin/healthcheck.mjs http://127.0.0.1:9100/readyz
//
// Liveness, not readiness: an orchestrator that acts on the image's health
// (Swarm replaces unhealthy tasks; some restart them) must not kill a process
// for being unready. A role is unready when NATS is away, its disk is full, a
// gateway is full or draining: conditions it recovers from by itself, and a
// restart would only drop its sessions, shards or consumer. /readyz is for
// routing (load balancers, Kubernetes readiness); give its URL explicitly where
// health should mean "ready", as the Compose file does to order start-up.
//
// Without a URL the role is read from the command line of the container's
// `chat` process (/proc), and its port from the environment: a gateway's
// OPS_PORT, standalone's OPS_PORT or else PORT, the PORT of actors,
// presence and indexer, or that role's default.
import { readFileSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Each role's default ops port (the schemas' defaults; deploy/src/packaging checks they agree). */
export const DEFAULT_PORTS = { standalone: 8080, gateway: 9101, actors: 9100, presence: 9200, indexer: 9300 };

/** The URL of `path` (/healthz by default) on the ops port of `role` given the environment. */
export function healthUrl(role, env, path = '/healthz') {
  const port = role === 'gateway' ? env.OPS_PORT || DEFAULT_PORTS.gateway : role === 'standalone' || !(role in DEFAULT_PORTS) ? env.OPS_PORT || env.PORT || DEFAULT_PORTS.standalone : env.PORT || DEFAULT_PORTS[role];
  // A gateway listening on one address (HOST; its ops port too) answers there only; on every interface, loopback is one of them.
  const host = !env.HOST || env.HOST === '0.0.0.0' || env.HOST === '::' || role === 'actors' || role === 'presence' || role === 'indexer' ? '127.0.0.1' : env.HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

/** The role a process command line runs (`node ... deploy/bin/chat.mjs <role>`), or undefined if it is no `chat` process. */
export function roleOfCommand(argv) {
  const at = argv.findIndex((a) => a.endsWith('chat.mjs'));
  if (at < 0 || argv.some((a) => a.endsWith('healthcheck.mjs'))) return undefined;
  return argv[at + 1] || 'standalone';
}

/** The role of the `chat` process in this container (PID 1, or the first one found under an init). */
function chatRole() {
  const pids = ['1', ...readdirSync('/proc').filter((p) => /^\d+$/.test(p) && p !== '1' && p !== String(process.pid))];
  for (const pid of pids) {
    try {
      const role = roleOfCommand(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
      if (role) return role;
    } catch {
      // Gone, or not ours to read.
    }
  }
  return 'standalone';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = process.argv[2] || healthUrl(chatRole(), process.env);
  fetch(url, { signal: AbortSignal.timeout(3000) }).then(
    (res) => process.exit(res.status === 200 ? 0 : 1),
    () => process.exit(1),
  );
}
