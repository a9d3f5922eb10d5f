import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deployRoot } from '../paths.js';
import { ROLES, type RolePorts, checkRoleEnv, roleListens } from './roles.js';

// The Dockerfile, read as text (no Docker engine here): its stages, its
// runtime's ENTRYPOINT, CMD, EXPOSE, user and volume against the roles, and
// the runtime's node_modules against what the bundle imports.

const root = join(deployRoot(), '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

/** Instructions in order: continuation lines joined, comments (also inside continuations) dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const [op = '', ...rest] = current.split(/\s+/);
      out.push({ op: op.toUpperCase(), args: rest.join(' ') });
      current = '';
    }
  }
  return out;
}

const all = instructions(dockerfile);
/** Stages by name (the last one, unnamed, is `runtime`), each with its instructions. */
const stages = new Map<string, Instruction[]>();
let stage = '';
for (const i of all) {
  if (i.op === 'FROM') {
    stage = /\bAS\s+(\S+)/i.exec(i.args)?.[1] ?? 'runtime';
    stages.set(stage, []);
  }
  stages.get(stage)?.push(i);
}
const runtime = stages.get('runtime') ?? [];
const one = (op: string) => runtime.filter((i) => i.op === op).at(-1)?.args;
const json = (op: string) => JSON.parse(one(op) ?? 'null') as string[] | null;

/** Each role's ports with no variables set (a gateway needs its secret to load, not to pick ports). */
function defaultPorts(role: string): RolePorts {
  return roleListens(role, role === 'gateway' ? { JWT_SECRET: 'x'.repeat(32) } : {});
}

describe('Dockerfile', () => {
  it('builds on node:20-bookworm-slim in every stage (uWebSockets.js: Node 20, glibc)', () => {
    const args = new Map(all.filter((i) => i.op === 'ARG' && i.args.includes('=')).map((i) => i.args.split('=') as [string, string]));
    const bases = all.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0]!.replace(/^\$\{(\w+)\}$/, (_m, n: string) => args.get(n) ?? ''));
    // build starts from the manifests stage, itself on the same image.
    expect(bases).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim', 'manifests', 'node:20-bookworm-slim']);
    expect([...stages.keys()]).toEqual(['manifests', 'deps', 'build', 'runtime']);
  });

  it('runs `chat <role>`: ENTRYPOINT the chat command, CMD a role that serves', () => {
    expect(json('ENTRYPOINT')).toEqual(['node', '--enable-source-maps', 'deploy/bin/chat.mjs']);
    expect(existsSync(join(root, 'deploy/bin/chat.mjs'))).toBe(true);
    const cmd = json('CMD')!;
    expect(cmd).toEqual(['standalone']);
    expect(ROLES[cmd[0]!]?.kind).toBe('server');
  });

  it("exposes each serving role's default ports, from the roles' schemas", () => {
    const exposed = one('EXPOSE')!.split(/\s+/).map(Number).sort();
    const ports = new Set<number>();
    for (const [role, surface] of Object.entries(ROLES)) if (surface.kind === 'server') for (const p of Object.values(defaultPorts(role))) ports.add(p);
    expect(exposed).toEqual([...ports].sort());
  });

  it('runs as the node user, with DATA_DIR on a volume', () => {
    expect(one('USER')).toBe('node');
    const dataDir = /DATA_DIR=(\S+)/.exec(runtime.filter((i) => i.op === 'ENV').map((i) => i.args).join(' '))?.[1];
    expect(dataDir).toBe('/data');
    expect(JSON.parse(one('VOLUME')!)).toEqual([dataDir]);
    expect(runtime.some((i) => i.op === 'RUN' && i.args.includes(`chown node:node ${dataDir}`))).toBe(true);
  });

  it('listens on every interface of the container (HOST=0.0.0.0), so published ports reach standalone too', () => {
    const host = /HOST=(\S+)/.exec(runtime.filter((i) => i.op === 'ENV').map((i) => i.args).join(' '))?.[1];
    expect(host).toBe('0.0.0.0');
    // Standalone's own default is loopback, which a published port cannot reach.
    expect(checkRoleEnv('standalone', {}).config).toMatchObject({ HOST: '127.0.0.1' });
    expect(checkRoleEnv('standalone', { HOST: host! }).config).toMatchObject({ HOST: '0.0.0.0' });
  });

  it("health-checks liveness (/healthz, never /readyz) with node's fetch on each role's own ops port", async () => {
    const check = one('HEALTHCHECK')!;
    expect(check).toMatch(/CMD \["node", "deploy\/bin\/healthcheck\.mjs"\]$/);
    const script = join(root, 'deploy/bin/healthcheck.mjs');
    const { DEFAULT_PORTS, healthUrl } = (await import(pathToFileURL(script).href)) as {
      DEFAULT_PORTS: Record<string, number>;
      healthUrl(role: string, env: Record<string, string>, path?: string): string;
    };
    for (const [role, surface] of Object.entries(ROLES)) {
      if (surface.kind !== 'server') continue;
      expect(DEFAULT_PORTS[role], role).toBe(defaultPorts(role).ops);
      // An unready process (NATS away, disk full, gateway full) is not unhealthy: orchestrators restart unhealthy ones.
      expect(healthUrl(role, {}), role).toBe(`http://127.0.0.1:${defaultPorts(role).ops}/healthz`);
    }
    expect(healthUrl('actors', { PORT: '9300' })).toBe('http://127.0.0.1:9300/healthz');
    expect(healthUrl('indexer', { PORT: '9301' })).toBe('http://127.0.0.1:9301/healthz');
    // A gateway's ops endpoints are on OPS_PORT, never on its public PORT; standalone's on PORT unless OPS_PORT is set.
    expect(healthUrl('gateway', { PORT: '8081' })).toBe('http://127.0.0.1:9101/healthz');
    expect(healthUrl('gateway', { PORT: '8081', OPS_PORT: '9301' })).toBe('http://127.0.0.1:9301/healthz');
    expect(healthUrl('standalone', { PORT: '8081' })).toBe('http://127.0.0.1:8081/healthz');
    expect(healthUrl('standalone', { PORT: '8081', OPS_PORT: '9301' })).toBe('http://127.0.0.1:9301/healthz');
    // A gateway bound to one address is asked there.
    expect(healthUrl('gateway', { HOST: '0.0.0.0' })).toBe('http://127.0.0.1:9101/healthz');
    expect(healthUrl('gateway', { HOST: '10.1.2.3' })).toBe('http://10.1.2.3:9101/healthz');
    expect(healthUrl('standalone', { HOST: '::1', PORT: '8081' })).toBe('http://[::1]:8081/healthz');
    expect(healthUrl('presence', {}, '/readyz')).toBe('http://127.0.0.1:9200/readyz');
  });

  it("the health check finds the role in the command line the image's ENTRYPOINT and CMD give", async () => {
    const { roleOfCommand } = (await import(pathToFileURL(join(root, 'deploy/bin/healthcheck.mjs')).href)) as { roleOfCommand(argv: string[]): string | undefined };
    // /proc/<pid>/cmdline: NUL-separated, with a trailing NUL.
    expect(roleOfCommand([...json('ENTRYPOINT')!, ...json('CMD')!, ''])).toBe('standalone');
    expect(roleOfCommand([...json('ENTRYPOINT')!, 'actors', ''])).toBe('actors');
    expect(roleOfCommand([...json('ENTRYPOINT')!, ''])).toBe('standalone');
    expect(roleOfCommand(['/sbin/docker-init', '--', 'node', 'deploy/bin/chat.mjs', 'presence', ''])).toBe('presence');
    expect(roleOfCommand(['node', 'deploy/bin/healthcheck.mjs', ''])).toBeUndefined();
    expect(roleOfCommand(['sh', '-c', 'sleep 1', ''])).toBeUndefined();
  });

  it('copies into the runtime the production dependencies, the bundle with its workers and migrations, deploy/bin and web/dist', () => {
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=deps /app/node_modules ./node_modules');
    for (const path of ['deploy/package.json', 'deploy/bin', 'deploy/dist', 'web/dist']) expect(copies.some((c) => c.startsWith(`--from=build /app/${path} `)), path).toBe(true);
    // What deploy/build.mjs puts beside the bundle (read by path at run time).
    const build = readFileSync(join(deployRoot(), 'build.mjs'), 'utf8');
    expect(build).toMatch(/deploy\/dist\/migrations/);
    expect(build).toMatch(/sqlite-writer-worker\.mjs/);
  });

  it("installs with every workspace's manifest (npm ci reads the whole lock), only @chat/deploy's production tree in the runtime", () => {
    const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    // One stage holds them (the list written once); the install stages start from it.
    const copies = stages.get('manifests')!.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('package.json package-lock.json ./');
    for (const ws of workspaces) expect(copies, `manifests: ${ws}`).toContain(`${ws}/package.json ${ws}/`);
    expect(stages.get('deps')!.filter((i) => i.op === 'COPY').map((i) => i.args)).toContain('--from=manifests /app/ ./');
    expect(stages.get('build')!.find((i) => i.op === 'FROM')?.args).toBe('manifests AS build');
    const deps = stages.get('deps')!.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ');
    expect(deps).toMatch(/npm ci --omit=dev --workspace=@chat\/deploy/);
    expect(deps).toMatch(/require\('better-sqlite3'\)/);
    expect(deps).toMatch(/require\('uWebSockets\.js'\)/);
    expect(stages.get('build')!.some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
  });

  it("has in that tree every third-party package the bundle and its workers import", () => {
    // The production dependencies of @chat/deploy and of the workspaces it depends on (the lock's view).
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string>; link?: boolean; resolved?: string }> };
    const production = new Set<string>();
    const visit = (dir: string) => {
      for (const name of Object.keys(lock.packages[dir]?.dependencies ?? {})) {
        if (production.has(name)) continue;
        production.add(name);
        const entry = lock.packages[`node_modules/${name}`];
        if (entry?.link && entry.resolved) visit(entry.resolved);
      }
    };
    visit('deploy');
    const dist = join(deployRoot(), 'dist');
    const imported = new Set<string>();
    for (const file of ['chat.mjs', 'sqlite-writer-worker.mjs', 'sqlite-checkpoint-worker.mjs']) {
      const text = readFileSync(join(dist, file), 'utf8');
      for (const [, spec] of text.matchAll(/(?:^|\n)\s*import\s[^'"]*?from\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
        if (!spec || spec.startsWith('.') || spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    expect([...imported].filter((p) => !production.has(p))).toEqual([]);
  });

  it('.dockerignore keeps no tracked source out of the build context, and keeps out node_modules, dist and .git', () => {
    const patterns = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const regex = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]]/g, '\\$&').replace(/\*\*\//g, '(?:.*/)?').replace(/\*/g, '[^/]*')}(?:/.*)?$`);
    const ignored = (path: string) => patterns.some((p) => regex(p).test(path));
    for (const path of ['.git', 'node_modules', 'web/node_modules', 'deploy/dist', 'web/dist']) expect(ignored(path), path).toBe(true);
    const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    // What the build needs: the manifests, the lock, the build script and every workspace's sources.
    const needed = tracked.filter((f) => /(^|\/)package\.json$|^package-lock\.json$|^deploy\/(build\.mjs|bin\/)|\/src\/|^web\//.test(f));
    expect(needed.length).toBeGreaterThan(100);
    expect(needed.filter(ignored)).toEqual([]);
  });
});
