import { readFileSync } from 'node:fs';
import { ConfigError } from '@chat/platform';

/** MAX_CONNECTIONS where the open-file limit cannot be read (not Linux, no /proc). */
export const DEFAULT_MAX_CONNECTIONS_UNKNOWN_LIMIT = 10_000;
/** File descriptors kept out of MAX_CONNECTIONS at the least... */
export const MIN_FD_HEADROOM = 256;
/** ...or this share of the limit, whichever is more. */
export const FD_HEADROOM_SHARE = 0.05;

/**
 * The soft RLIMIT_NOFILE of this process (the limit `open`, `accept` and
 * `socket` fail at with EMFILE), read from /proc/self/limits; undefined where
 * that cannot be read or says `unlimited`. Node raises the soft limit to the
 * hard one when it starts, so this is the limit really in force.
 */
export function readOpenFileLimit(path = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (!soft || !/^\d+$/.test(soft)) return undefined;
  const n = Number(soft);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Descriptors a gateway needs besides its sessions: NATS connections, log and
 * store files, the ops and gRPC servers and their clients, HTTP requests in
 * progress (static files, dev login, refused upgrades).
 */
export function fdHeadroom(limit: number): number {
  return Math.max(MIN_FD_HEADROOM, Math.ceil(limit * FD_HEADROOM_SHARE));
}

export interface ConnectionLimit {
  /** Sessions this gateway admits. */
  max: number;
  /** The open-file limit it was checked against; undefined where unknown. */
  openFileLimit: number | undefined;
  /** True when MAX_CONNECTIONS was not set. */
  derived: boolean;
}

/**
 * MAX_CONNECTIONS as the gateway applies it: the value set, or the open-file
 * limit less fdHeadroom. A value set above what the limit allows is refused
 * (ConfigError naming the variable), since the sessions past it would make
 * accepting connections fail with EMFILE. Where the limit is unknown, a set
 * value is taken as it is and the default is
 * DEFAULT_MAX_CONNECTIONS_UNKNOWN_LIMIT.
 */
export function resolveMaxConnections(explicit: number | undefined, openFileLimit: number | undefined): ConnectionLimit {
  if (openFileLimit === undefined) return { max: explicit ?? DEFAULT_MAX_CONNECTIONS_UNKNOWN_LIMIT, openFileLimit, derived: explicit === undefined };
  const allowed = openFileLimit - fdHeadroom(openFileLimit);
  if (allowed < 1) {
    throw new ConfigError([
      `MAX_CONNECTIONS: the open-file limit (${openFileLimit}) leaves no room for sessions beside the ${fdHeadroom(openFileLimit)} descriptors a gateway keeps for other uses: raise it (ulimit -n, LimitNOFILE=, the container's nofile ulimit)`,
    ]);
  }
  if (explicit === undefined) return { max: allowed, openFileLimit, derived: true };
  if (explicit > allowed) {
    throw new ConfigError([
      `MAX_CONNECTIONS: ${explicit} is more than the open-file limit (${openFileLimit}) allows: at most ${allowed} (the limit less ${fdHeadroom(openFileLimit)} for other descriptors); lower it, or raise the limit (ulimit -n)`,
    ]);
  }
  return { max: explicit, openFileLimit, derived: false };
}
