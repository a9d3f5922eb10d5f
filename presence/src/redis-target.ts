import { Redis, type RedisOptions } from 'ioredis';

/**
 * Where presence's Redis is: one server (`redis://` or `rediss://`), or the
 * primary a set of Redis Sentinels names (`redis-sentinel://`), which moves
 * to a replica when the primary fails.
 */
export type RedisTarget =
  | { kind: 'server'; url: string }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; master: string; password?: string; db: number };

const SENTINEL_SCHEME = 'redis-sentinel://';
const DEFAULT_SENTINEL_PORT = 26379;

/**
 * Parses REDIS_URL: `redis://host:port[/db]`, `rediss://…`, or
 * `redis-sentinel://[:password@]host[:port][,host[:port]…]/<master>[/<db>]`
 * (sentinel port 26379 by default; the password is the primary's). Throws
 * RangeError saying what is wrong.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\/\S+$/.test(url)) return { kind: 'server', url };
  if (!url.startsWith(SENTINEL_SCHEME)) throw new RangeError('must be a redis://, rediss:// or redis-sentinel:// URL');
  let rest = url.slice(SENTINEL_SCHEME.length);
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    password = decoded(credentials.startsWith(':') ? credentials.slice(1) : credentials, 'password');
    rest = rest.slice(at + 1);
  }
  const [hostList = '', master = '', db = '0', ...extra] = rest.split('/');
  if (extra.length > 0 || master === '') throw new RangeError('a redis-sentinel:// URL is redis-sentinel://[:password@]host[:port][,host[:port]…]/<master name>[/<db>]');
  if (!/^\d{1,2}$/.test(db)) throw new RangeError(`the database of a redis-sentinel:// URL must be a number, got "${db}"`);
  const sentinels = hostList.split(',').map((hostPort) => {
    const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?$/.exec(hostPort);
    const port = m?.[2] === undefined ? DEFAULT_SENTINEL_PORT : Number(m[2]);
    if (!m || port < 1 || port > 65_535) throw new RangeError(`"${hostPort}" is not a sentinel host[:port]`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
  return { kind: 'sentinel', sentinels, master: decoded(master, 'master name'), db: Number(db), ...(password ? { password } : {}) };
}

function decoded(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RangeError(`the ${what} of a redis-sentinel:// URL has a bad %-escape`);
  }
}

/** The target for logs and messages, without its password. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === 'sentinel') return `${SENTINEL_SCHEME}${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/${target.master}/${target.db}`;
  try {
    const u = new URL(target.url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

/**
 * An ioredis client of `target` with `options`. Through sentinels it asks
 * them for the current primary on every (re)connect, and also listens for
 * their switch-master announcements, so a failover moves it to the new
 * primary without waiting for the old one's connection to time out.
 */
export function createRedisClient(target: RedisTarget, options: RedisOptions): Redis {
  if (target.kind === 'server') return new Redis(target.url, options);
  return new Redis({
    ...options,
    sentinels: target.sentinels,
    name: target.master,
    db: target.db,
    ...(target.password ? { password: target.password } : {}),
    // Sentinels that are down are tried again like the primary: for ever, backing off to 1 s.
    sentinelRetryStrategy: (times) => Math.min(100 * times, 1000),
    failoverDetector: true,
    role: 'master',
  });
}
