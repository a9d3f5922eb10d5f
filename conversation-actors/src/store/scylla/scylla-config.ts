import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, envBool, envEnum, envInt, envString } from '@chat/platform';

/** Consistency levels SCYLLA_CONSISTENCY accepts (the driver's names). */
export const SCYLLA_CONSISTENCIES = ['LOCAL_QUORUM', 'QUORUM', 'EACH_QUORUM', 'LOCAL_ONE', 'ONE', 'TWO', 'THREE', 'ALL'] as const;
export type ScyllaConsistency = (typeof SCYLLA_CONSISTENCIES)[number];

export const DEFAULT_SCYLLA_LOCAL_DC = 'datacenter1';
export const DEFAULT_SCYLLA_KEYSPACE = 'chat';
export const DEFAULT_SCYLLA_REPLICATION = 'SimpleStrategy:1';

/**
 * The ScyllaDB variables, part of the actors' environment (STORE=scylla) and
 * of `chat migrate`. Only checked for meaning (scyllaOptionsFromEnv) when the
 * Scylla backend is used, so a SQLite deployment never needs them.
 */
export const scyllaEnv = {
  /** Comma-separated host or host:port; required when STORE=scylla. */
  SCYLLA_CONTACT_POINTS: envString(''),
  /** The data centre the driver routes to first (DCAwareRoundRobin). A single node from the compose file is in `datacenter1`. */
  SCYLLA_LOCAL_DC: envString(DEFAULT_SCYLLA_LOCAL_DC),
  SCYLLA_KEYSPACE: envString(DEFAULT_SCYLLA_KEYSPACE),
  SCYLLA_USERNAME: envString(''),
  SCYLLA_PASSWORD: envString(''),
  SCYLLA_TLS: envBool(false),
  /** PEM file of the CA that signed the nodes' certificates (a private CA); empty: the system's trusted CAs. Implies SCYLLA_TLS. */
  SCYLLA_TLS_CA_FILE: envString(''),
  SCYLLA_CONSISTENCY: envEnum(SCYLLA_CONSISTENCIES, 'LOCAL_QUORUM'),
  /** Used by `chat migrate` when it creates the keyspace: `SimpleStrategy:<rf>` or `NetworkTopologyStrategy:<dc>=<rf>,<dc>=<rf>`. */
  SCYLLA_REPLICATION: envString(DEFAULT_SCYLLA_REPLICATION),
  /** Client-side timeout of one request, in ms (above the server's own write/read timeouts). */
  SCYLLA_REQUEST_TIMEOUT_MS: envInt(12_000, 100, 600_000),
};

export const scyllaEnvSchema = z.object(scyllaEnv);
export type ScyllaEnv = z.output<typeof scyllaEnvSchema>;

/** The connection settings of the Scylla backend, validated. */
export interface ScyllaOptions {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  credentials?: { username: string; password: string } | undefined;
  /** TLS to the nodes, verified against the system CAs or `ca`; false: plain TCP. */
  tls: false | { ca?: Buffer | undefined };
  consistency: ScyllaConsistency;
  requestTimeoutMs: number;
}

/** How `chat migrate` replicates the keyspace it creates. */
export type Replication =
  | { class: 'SimpleStrategy'; replicationFactor: number }
  | { class: 'NetworkTopologyStrategy'; dataCenters: Record<string, number> };

// Keyspace names: lowercase letters, digits and underscores, at most 48, starting with a letter (lowercase, so
// quoting never matters: CQL folds unquoted names to lowercase).
const KEYSPACE = /^[a-z][a-z0-9_]{0,47}$/;
// Host names, IPv4, or [IPv6], each with an optional :port.
const CONTACT_POINT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
// Data centre names end up inside a CQL string literal: no quotes, nothing exotic.
const DATA_CENTER = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The validated connection settings of SCYLLA_* variables. Throws ConfigError
 * naming every problem: no contact points, a malformed one, a bad keyspace or
 * data centre name, a user name without a password or the reverse.
 */
export function scyllaOptionsFromEnv(env: ScyllaEnv): ScyllaOptions {
  const problems: string[] = [];
  const contactPoints = env.SCYLLA_CONTACT_POINTS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (contactPoints.length === 0) problems.push('SCYLLA_CONTACT_POINTS: required for STORE=scylla and chat migrate (comma-separated host or host:port)');
  for (const point of contactPoints) {
    const port = /:(\d+)$/.exec(point)?.[1];
    if (!CONTACT_POINT.test(point) || (port !== undefined && (Number(port) < 1 || Number(port) > 65_535))) {
      problems.push(`SCYLLA_CONTACT_POINTS: ${JSON.stringify(point)} is not a host or host:port`);
    }
  }
  if (!DATA_CENTER.test(env.SCYLLA_LOCAL_DC)) problems.push(`SCYLLA_LOCAL_DC: ${JSON.stringify(env.SCYLLA_LOCAL_DC)} is not a data centre name`);
  if (!KEYSPACE.test(env.SCYLLA_KEYSPACE)) {
    problems.push(`SCYLLA_KEYSPACE: ${JSON.stringify(env.SCYLLA_KEYSPACE)} is not a keyspace name (a lowercase letter, then up to 47 lowercase letters, digits or _)`);
  }
  if ((env.SCYLLA_USERNAME === '') !== (env.SCYLLA_PASSWORD === '')) {
    problems.push('SCYLLA_USERNAME and SCYLLA_PASSWORD: set both or neither');
  }
  let ca: Buffer | undefined;
  if (env.SCYLLA_TLS_CA_FILE !== '') {
    try {
      ca = readFileSync(env.SCYLLA_TLS_CA_FILE);
    } catch (err) {
      problems.push(`SCYLLA_TLS_CA_FILE: cannot read ${JSON.stringify(env.SCYLLA_TLS_CA_FILE)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    contactPoints,
    localDataCenter: env.SCYLLA_LOCAL_DC,
    keyspace: env.SCYLLA_KEYSPACE,
    credentials: env.SCYLLA_USERNAME === '' ? undefined : { username: env.SCYLLA_USERNAME, password: env.SCYLLA_PASSWORD },
    tls: env.SCYLLA_TLS || ca !== undefined ? { ca } : false,
    consistency: env.SCYLLA_CONSISTENCY,
    requestTimeoutMs: env.SCYLLA_REQUEST_TIMEOUT_MS,
  };
}

/**
 * SCYLLA_REPLICATION parsed: `SimpleStrategy:<rf>` (a development node) or
 * `NetworkTopologyStrategy:<dc>=<rf>[,<dc>=<rf>...]` (production). Throws ConfigError.
 */
export function parseReplication(value: string): Replication {
  const problem = (why: string) => new ConfigError([`SCYLLA_REPLICATION: ${why} (got ${JSON.stringify(value)})`]);
  const [strategy, spec = '', ...rest] = value.trim().split(':');
  if (rest.length > 0) throw problem('expected <strategy>:<spec>');
  const factor = (s: string): number => {
    if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 15) throw problem(`replication factor ${JSON.stringify(s)} is not an integer from 1 to 15`);
    return Number(s);
  };
  if (strategy === 'SimpleStrategy') return { class: 'SimpleStrategy', replicationFactor: factor(spec.trim()) };
  if (strategy === 'NetworkTopologyStrategy') {
    const dataCenters: Record<string, number> = {};
    for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [dc = '', rf = '', ...more] = part.split('=').map((s) => s.trim());
      if (more.length > 0 || !DATA_CENTER.test(dc)) throw problem(`${JSON.stringify(part)} is not <dc>=<rf>`);
      if (dc in dataCenters) throw problem(`data centre ${dc} twice`);
      dataCenters[dc] = factor(rf);
    }
    if (Object.keys(dataCenters).length === 0) throw problem('NetworkTopologyStrategy needs at least one <dc>=<rf>');
    return { class: 'NetworkTopologyStrategy', dataCenters };
  }
  throw problem('expected SimpleStrategy:<rf> or NetworkTopologyStrategy:<dc>=<rf>,...');
}

/** The CQL map literal of a replication (names were validated, so quoting is safe). */
export function replicationCql(replication: Replication): string {
  if (replication.class === 'SimpleStrategy') return `{'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}}`;
  const dcs = Object.entries(replication.dataCenters).map(([dc, rf]) => `'${dc}': ${rf}`);
  return `{'class': 'NetworkTopologyStrategy', ${dcs.join(', ')}}`;
}
