import type { z } from 'zod';
import { ConfigError, LOG_LEVELS, loadEnvConfig } from '@chat/platform';
import { type ScyllaEnv, type SearchEnv, parseReplication, pgSearchOptionsFromEnv, scyllaOptionsFromEnv } from '@chat/conversation-actors';
import { clusterActorsEnvSchema, clusterGatewayEnvSchema, clusterIndexerEnvSchema } from '../roles/cluster-env.js';
import { presenceRoleEnvSchema } from '../roles/presence.js';
import { standaloneEnvSchema } from '../roles/standalone.js';
import { migrateEnvSchema } from '../cli/migrate-command.js';

/**
 * What each `chat <role>` a container can run reads and where it listens, from
 * the roles' own configuration schemas: the packaging checks (Dockerfile,
 * Compose, Kubernetes) compare the files against this, never against numbers
 * of their own.
 */
export interface RoleSurface {
  /** The role's environment schema (the one it loads with loadEnvConfig). */
  schema: z.ZodObject;
  /**
   * The ports the role listens on given its parsed configuration: its HTTP
   * port, for gateways gRPC, and `ops`, where /healthz, /readyz and /metrics
   * answer (a gateway's OPS_PORT; standalone's PORT unless OPS_PORT is set;
   * the one HTTP port of actors and presence).
   */
  listens(config: Record<string, unknown>): RolePorts;
  /** Which HTTP server answers on `http`: the gateway's (uWebSockets.js) or the ops server (actors, presence). */
  http: 'gateway' | 'ops' | 'none';
  /** Runs until stopped (a Deployment or long-lived service), or once (a Job, a one-shot service). */
  kind: 'server' | 'one-shot';
}

export interface RolePorts {
  http?: number;
  grpc?: number;
  ops?: number;
}

const gatewayListens = (c: Record<string, unknown>): RolePorts => ({
  http: c.PORT as number,
  ...(c.GRPC_PORT === undefined ? {} : { grpc: c.GRPC_PORT as number }),
  ops: (c.OPS_PORT ?? c.PORT) as number,
});
const opsListens = (c: Record<string, unknown>): RolePorts => ({ http: c.PORT as number, ops: c.PORT as number });

export const ROLES: Record<string, RoleSurface> = {
  standalone: { schema: standaloneEnvSchema, listens: gatewayListens, http: 'gateway', kind: 'server' },
  gateway: { schema: clusterGatewayEnvSchema, listens: gatewayListens, http: 'gateway', kind: 'server' },
  actors: { schema: clusterActorsEnvSchema, listens: opsListens, http: 'ops', kind: 'server' },
  presence: { schema: presenceRoleEnvSchema, listens: opsListens, http: 'ops', kind: 'server' },
  indexer: { schema: clusterIndexerEnvSchema, listens: opsListens, http: 'ops', kind: 'server' },
  migrate: { schema: migrateEnvSchema, listens: () => ({}), http: 'none', kind: 'one-shot' },
};

/** Paths every serving role answers on its `ops` port (probes and Prometheus use them). */
export const HEALTH_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** Variables every role reads besides its schema: the logger's level, and OpenTelemetry's standard OTEL_* variables. */
function commonVariableProblem(name: string, value: string): string | undefined | null {
  if (name === 'LOG_LEVEL') return (LOG_LEVELS as readonly string[]).includes(value) ? undefined : `LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(value)})`;
  if (/^OTEL_[A-Z0-9_]+$/.test(name)) return undefined;
  return null;
}

/**
 * Checks the environment a container gives `chat <role>`: every variable is one
 * the role reads, and the role's configuration loads from it (loadEnvConfig,
 * and the ScyllaDB settings where the role uses them). Returns the problems
 * (empty when fine) and the parsed configuration.
 */
export function checkRoleEnv(role: string, env: Record<string, string>): { problems: string[]; config?: Record<string, unknown> } {
  const surface = ROLES[role];
  if (!surface) return { problems: [`unknown role ${JSON.stringify(role)} (roles: ${Object.keys(ROLES).join(', ')})`] };
  const problems: string[] = [];
  const known = new Set(Object.keys(surface.schema.shape));
  for (const [name, value] of Object.entries(env)) {
    if (known.has(name)) continue;
    const common = commonVariableProblem(name, value);
    if (common === null) problems.push(`${name}: not a setting of chat ${role}`);
    else if (common !== undefined) problems.push(common);
  }
  let config: Record<string, unknown>;
  try {
    config = loadEnvConfig(surface.schema, env) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { problems: [...problems, ...err.problems] };
  }
  try {
    if (role === 'migrate' || config.STORE === 'scylla') scyllaOptionsFromEnv(config as unknown as ScyllaEnv);
    if (role === 'migrate') parseReplication(config.SCYLLA_REPLICATION as string);
    // PG_URL is required only with SEARCH=postgres, which the indexer always needs (it refuses to start without).
    if ('SEARCH' in config) pgSearchOptionsFromEnv(config as unknown as SearchEnv);
    if (role === 'indexer' && config.SEARCH !== 'postgres') problems.push('SEARCH: chat indexer keeps a PostgreSQL index: set SEARCH=postgres and PG_URL');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const ports = surface.listens(config);
  for (const [what, port] of Object.entries(ports)) {
    if (what === 'ops' && port === ports.http) continue; // the same port, said once
    if (port === 0) problems.push(`${what} port 0 picks a random port: a container needs a fixed one`);
  }
  return { problems, config };
}

/** The role's ports given an environment that checkRoleEnv accepted. */
export function roleListens(role: string, env: Record<string, string>): RolePorts {
  const { problems, config } = checkRoleEnv(role, env);
  if (!config) throw new Error(`chat ${role}: ${problems.join('; ')}`);
  return ROLES[role]!.listens(config);
}
