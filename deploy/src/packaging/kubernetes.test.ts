import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Model } from '@kubernetes-models/base';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { gatewayStopWithinMs } from '../roles/standalone.js';
import { deployRoot } from '../paths.js';
import { HEALTH_PATHS, ROLES, checkRoleEnv, roleListens } from './roles.js';

// deploy/k8s, checked without a cluster or the kustomize binary: every manifest
// against the Kubernetes OpenAPI schemas (kubernetes-models) and for fields the
// API does not have; the dev overlay's patches applied here as kustomize would
// (strategic merge by kind and name, containers merged by name) and checked
// again; every chat container against its role's configuration: variables,
// ports, probe paths, and the gateway's stop.

const k8sDir = join(deployRoot(), 'k8s');
const root = join(deployRoot(), '..');

type Obj = Record<string, unknown>;
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

const MODELS: Record<string, { model: new (data: never) => Model<unknown>; types: string }> = {
  'v1/ConfigMap': { model: ConfigMap as never, types: 'kubernetes-models/v1/ConfigMap' },
  'v1/Secret': { model: Secret as never, types: 'kubernetes-models/v1/Secret' },
  'v1/Service': { model: Service as never, types: 'kubernetes-models/v1/Service' },
  'apps/v1/Deployment': { model: Deployment as never, types: 'kubernetes-models/apps/v1/Deployment' },
  'batch/v1/Job': { model: Job as never, types: 'kubernetes-models/batch/v1/Job' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget as never, types: 'kubernetes-models/policy/v1/PodDisruptionBudget' },
  'autoscaling/v2/HorizontalPodAutoscaler': { model: HorizontalPodAutoscaler as never, types: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler' },
};

function readYamlDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Obj;
  }).filter((d) => d !== null);
}

interface Kustomization {
  resources?: string[];
  namespace?: string;
  patches?: { path: string }[];
  labels?: { pairs: Record<string, string> }[];
}

/** Lists, maps and scalars merged as a strategic merge patch does for the fields used here: lists of named objects by name. */
function strategicMerge(target: unknown, patch: unknown): unknown {
  if (Array.isArray(patch)) {
    if (!Array.isArray(target) || !patch.every((p) => p && typeof p === 'object' && 'name' in p)) return patch;
    const merged = target.map((t) => {
      const p = patch.find((q: Obj) => q.name === (t as Obj).name);
      return p ? strategicMerge(t, p) : t;
    });
    for (const p of patch) if (!target.some((t: Obj) => t.name === (p as Obj).name)) merged.push(p);
    return merged;
  }
  if (patch && typeof patch === 'object' && target && typeof target === 'object' && !Array.isArray(target)) {
    const out: Obj = { ...(target as Obj) };
    for (const [k, v] of Object.entries(patch)) out[k] = v === null ? undefined : strategicMerge(out[k], v);
    return out;
  }
  return patch;
}

/** What `kustomize build dir` gives for the features these kustomizations use (resources, namespace, labels, patches). */
function build(dir: string): { manifests: Manifest[]; problems: string[] } {
  const problems: string[] = [];
  const [k] = readYamlDocs(join(dir, 'kustomization.yaml')) as Kustomization[];
  // Only the features this build reproduces: anything else kustomize would apply and this would not.
  const known = ['apiVersion', 'kind', 'resources', 'namespace', 'patches', 'labels'];
  for (const key of Object.keys(k!)) if (!known.includes(key)) problems.push(`${dir}/kustomization.yaml: ${key} is not reproduced by this check`);
  if ((k as Obj).kind !== 'Kustomization' || (k as Obj).apiVersion !== 'kustomize.config.k8s.io/v1beta1') problems.push(`${dir}/kustomization.yaml: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  let manifests: Manifest[] = [];
  for (const resource of k!.resources ?? []) {
    const path = resolve(dir, resource);
    if (existsSync(join(path, 'kustomization.yaml'))) {
      const sub = build(path);
      manifests.push(...sub.manifests);
      problems.push(...sub.problems);
    } else if (existsSync(path)) manifests.push(...(readYamlDocs(path) as unknown as Manifest[]));
    else problems.push(`${dir}: resource ${resource} does not exist`);
  }
  for (const { path } of k!.patches ?? []) {
    const docs = readYamlDocs(join(dir, path)) as unknown as Manifest[];
    // `patches: - path:` takes one patch per file.
    if (docs.length !== 1) problems.push(`${path}: ${docs.length} documents; kustomize's patches take one per file`);
    for (const patch of docs) {
      const at = manifests.findIndex((m) => m.kind === patch.kind && m.apiVersion === patch.apiVersion && m.metadata.name === patch.metadata.name);
      if (at < 0) problems.push(`${path}: patches ${patch.kind} ${patch.metadata.name}, which is not there`);
      else {
        // A container name the target does not have would be added as a new container (kustomize merges lists by name).
        const names = (m: Manifest) => (podOf(m)?.spec.containers ?? []).map((c) => c.name);
        for (const name of names(patch)) if (!names(manifests[at]!).includes(name)) problems.push(`${path}: patches container ${name}, which ${patch.metadata.name} does not have`);
        manifests[at] = strategicMerge(manifests[at], patch) as Manifest;
      }
    }
  }
  if (k!.namespace) manifests = manifests.map((m) => ({ ...m, metadata: { ...m.metadata, namespace: k!.namespace } }));
  for (const { pairs } of k!.labels ?? []) manifests = manifests.map((m) => ({ ...m, metadata: { ...m.metadata, labels: { ...m.metadata.labels, ...pairs } } }));
  return { manifests, problems };
}

// --- unknown fields: the OpenAPI schemas allow any extra property (the API server would refuse it, or warn) ---

const nodeModules = [join(deployRoot(), 'node_modules'), join(root, 'node_modules')];
function typesFile(specifier: string, from?: string): string | undefined {
  const candidates = specifier.startsWith('.') ? [resolve(dirname(from!), specifier)] : nodeModules.map((n) => join(n, specifier));
  for (const c of candidates) {
    const file = c.replace(/\.js$/, '') + '.d.ts';
    if (existsSync(file)) return file;
  }
  return undefined;
}

const fieldCache = new Map<string, Map<string, { file?: string; map: boolean }>>();
/** The properties of the interface a kubernetes-models .d.ts declares, each with the .d.ts of its type (if an object). */
function fieldsOf(file: string): Map<string, { file?: string; map: boolean }> | undefined {
  if (fieldCache.has(file)) return fieldCache.get(file);
  const text = readFileSync(file, 'utf8');
  const imports = new Map<string, string>();
  for (const [, name, spec] of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) imports.set(name!, spec!);
  const body = /^export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)^\}/m.exec(text)?.[1];
  if (body === undefined) return undefined;
  const fields = new Map<string, { file?: string; map: boolean }>();
  for (const [, name, type] of body.matchAll(/^ {4}"([^"]+)"\??: (.+)$/gm)) {
    const element = /^(?:Array<)?(\w+)/.exec(type!)?.[1];
    const spec = element ? imports.get(element) : undefined;
    fields.set(name!, { file: spec ? typesFile(spec, file) : undefined, map: type!.startsWith('{') });
  }
  fieldCache.set(file, fields);
  return fields;
}

function unknownFields(value: unknown, file: string | undefined, path: string): string[] {
  const fields = file ? fieldsOf(file) : undefined;
  if (!fields || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, file, `${path}[${i}]`));
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const field = fields.get(key);
    if (!field) problems.push(`${path}.${key}: no such field`);
    else if (!field.map) problems.push(...unknownFields(v, field.file, `${path}.${key}`));
  }
  return problems;
}

/** Schema errors and unknown fields of one manifest. */
function manifestProblems(m: Manifest): string[] {
  const key = `${m.apiVersion}/${m.kind}`;
  const entry = MODELS[key];
  if (!entry) return [`${key} ${m.metadata?.name}: no schema here for this kind`];
  const where = `${m.kind} ${m.metadata.name}`;
  const problems: string[] = [];
  try {
    new entry.model(m as never).validate();
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
  problems.push(...unknownFields(m, typesFile(entry.types), where));
  return problems;
}

// --- the chat containers ---

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
}

function podOf(m: Manifest): { spec: PodSpec; labels: Record<string, string>; annotations: Record<string, string> } | undefined {
  if (m.kind !== 'Deployment' && m.kind !== 'Job') return undefined;
  const template = (m.spec as { template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: PodSpec } }).template;
  if (!template?.spec) return undefined;
  return { spec: template.spec, labels: template.metadata?.labels ?? {}, annotations: template.metadata?.annotations ?? {} };
}

function dataOf(manifests: Manifest[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) return undefined;
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries((m.data as Record<string, string>) ?? {})) data[k] = kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
  return { ...data, ...((m.stringData as Record<string, string>) ?? {}) };
}

/** The environment a container gets (envFrom, then env), resolved from the ConfigMaps and Secrets among the manifests. */
function containerEnv(manifests: Manifest[], c: Container): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  for (const from of c.envFrom ?? []) {
    const [kind, ref] = from.configMapRef ? (['ConfigMap', from.configMapRef] as const) : (['Secret', from.secretRef!] as const);
    const data = dataOf(manifests, kind, ref.name);
    if (!data) problems.push(`${c.name}: envFrom ${kind} ${ref.name}, which is not there`);
    Object.assign(env, data);
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
    if (!ref) {
      env[e.name] = e.value ?? '';
      continue;
    }
    const value = dataOf(manifests, e.valueFrom?.configMapKeyRef ? 'ConfigMap' : 'Secret', ref.name)?.[ref.key];
    if (value === undefined) problems.push(`${c.name}: ${e.name} from ${ref.name}/${ref.key}, which is not there`);
    else env[e.name] = value;
  }
  return { env, problems };
}

const isChat = (c: Container) => c.image?.startsWith('chat-cluster') === true;
const roleOf = (c: Container) => c.args?.[0] ?? 'standalone';

/** The preStop's pause in ms (`node -e "setTimeout(() => {}, N)"`), 0 without one. */
function preStopMs(c: Container): number {
  const command = c.lifecycle?.preStop?.exec?.command.join(' ') ?? '';
  return Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(command)?.[1] ?? 0);
}

/** Everything wrong with the chat containers of a built kustomization. */
function chatProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  for (const m of manifests) {
    const pod = podOf(m);
    if (!pod) continue;
    for (const c of pod.spec.containers.filter(isChat)) {
      const where = `${m.kind} ${m.metadata.name}/${c.name}`;
      const role = roleOf(c);
      const surface = ROLES[role];
      const { env, problems: refProblems } = containerEnv(manifests, c);
      const { problems: envProblems, config } = checkRoleEnv(role, env);
      problems.push(...[...refProblems, ...envProblems].map((p) => `${where}: ${p}`));
      if (!config || !surface) continue;
      if ((surface.kind === 'one-shot') !== (m.kind === 'Job')) problems.push(`${where}: chat ${role} is a ${surface.kind}, run as a ${m.kind}`);
      const listens = roleListens(role, env);
      const portByName = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
      const declared = (c.ports ?? []).map((p) => p.containerPort).sort();
      const listened = [...new Set(Object.values(listens))].sort();
      if (JSON.stringify(declared) !== JSON.stringify(listened)) {
        problems.push(`${where}: container ports ${declared.join(', ')}, but chat ${role} listens on ${listened.join(', ')}`);
      }
      const probes = { readinessProbe: '/readyz', livenessProbe: '/healthz', startupProbe: undefined } as const;
      for (const [kind, expected] of Object.entries(probes)) {
        const probe = c[kind as keyof typeof probes];
        if (!probe) {
          if (expected && surface.kind === 'server') problems.push(`${where}: no ${kind}`);
          continue;
        }
        const get = probe.httpGet;
        if (!get) continue;
        const port = typeof get.port === 'number' ? get.port : portByName.get(get.port);
        if (port !== listens.ops) problems.push(`${where}: ${kind} on port ${get.port}, but chat ${role} serves ${HEALTH_PATHS.join(' ')} on ${listens.ops}`);
        if (!(HEALTH_PATHS as readonly string[]).includes(get.path) || surface.http === 'none') problems.push(`${where}: ${kind} on ${get.path}, which chat ${role} does not serve`);
        if (expected && get.path !== expected) problems.push(`${where}: ${kind} on ${get.path}, expected ${expected}`);
      }
      const scrapePort = pod.annotations['prometheus.io/port'];
      if (scrapePort !== undefined && Number(scrapePort) !== listens.ops) problems.push(`${where}: prometheus.io/port ${scrapePort}, but /metrics is on ${listens.ops}`);
      if (role === 'gateway') {
        const drain = config as { DRAIN_HOLD_MS: number; DRAIN_SPREAD_MS: number; DRAIN_TIMEOUT_MS: number };
        const needMs = preStopMs(c) + gatewayStopWithinMs(drain);
        const graceMs = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
        if (graceMs < needMs) problems.push(`${where}: terminationGracePeriodSeconds ${graceMs / 1000}, but preStop and drain take up to ${needMs / 1000} s`);
        // Readiness must see the hold's 503 within the hold, or a load balancer probing like Kubernetes still routes new sessions here.
        const r = c.readinessProbe!;
        if ((r.periodSeconds ?? 10) * (r.failureThreshold ?? 3) * 1000 > drain.DRAIN_HOLD_MS) problems.push(`${where}: readiness takes longer than DRAIN_HOLD_MS to see a drain`);
      }
    }
  }
  // Services: their selector picks a chat Deployment, and each targetPort is a port of its container.
  for (const s of manifests.filter((m) => m.kind === 'Service')) {
    const spec = s.spec as { selector: Record<string, string>; ports: { name: string; port: number; targetPort?: number | string }[] };
    const target = manifests.find((m) => m.kind === 'Deployment' && Object.entries(spec.selector).every(([k, v]) => podOf(m)!.labels[k] === v));
    if (!target) {
      problems.push(`Service ${s.metadata.name}: selects no Deployment`);
      continue;
    }
    const ports = podOf(target)!.spec.containers.flatMap((c) => c.ports ?? []);
    for (const p of spec.ports) {
      const t = p.targetPort ?? p.port;
      const found = ports.find((q) => (typeof t === 'number' ? q.containerPort === t : q.name === t));
      if (!found) problems.push(`Service ${s.metadata.name}: port ${p.name} targets ${t}, which ${target.metadata.name} does not listen on`);
    }
  }
  return problems;
}

const base = build(join(k8sDir, 'base'));
const dev = build(join(k8sDir, 'overlays', 'dev'));

describe.each([
  ['base', base],
  ['overlays/dev (patches applied)', dev],
])('deploy/k8s/%s', (_name, built) => {
  const { manifests } = built;
  const find = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);

  it('builds: every resource and patch file is there and every patch has a target', () => {
    expect(built.problems).toEqual([]);
    expect(manifests.length).toBeGreaterThan(10);
  });

  it('validates against the Kubernetes schemas, with no field the API does not have', () => {
    expect(manifests.flatMap(manifestProblems)).toEqual([]);
  });

  it("gives every chat container only variables its role reads, valid values, its role's ports, and probes on paths it serves", () => {
    expect(chatProblems(manifests)).toEqual([]);
  });

  it('has gateway, actors, presence and indexer Deployments with Services and disruption budgets, an autoscaler for the gateways, and actor hosts on ScyllaDB', () => {
    for (const role of ['gateway', 'actors', 'presence', 'indexer']) {
      const d = find('Deployment', `chat-${role}`);
      expect(d, role).toBeDefined();
      expect(podOf(d!)!.spec.containers.map(roleOf), role).toEqual([role]);
      expect(find('Service', `chat-${role}`), role).toBeDefined();
      expect(find('PodDisruptionBudget', `chat-${role}`), role).toBeDefined();
      for (const c of podOf(d!)!.spec.containers) expect(c.resources, role).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { cpu: expect.any(String), memory: expect.any(String) } });
    }
    const hpa = find('HorizontalPodAutoscaler', 'chat-gateway')!;
    expect((hpa.spec as { scaleTargetRef: unknown }).scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'chat-gateway' });
    const envOf = (name: string) => containerEnv(manifests, podOf(find('Deployment', name)!)!.spec.containers[0]!).env;
    const actors = checkRoleEnv('actors', envOf('chat-actors')).config!;
    const gateway = checkRoleEnv('gateway', envOf('chat-gateway')).config!;
    expect(actors.STORE).toBe('scylla');
    expect(actors.SHARDS).toBe(gateway.SHARDS);
    expect(checkRoleEnv('presence', envOf('chat-presence')).config!.REDIS_URL).toBeDefined();
  });

  it('runs every serving role of a cluster (standalone aside) as a Deployment', () => {
    const run = new Set(manifests.filter((m) => m.kind === 'Deployment').flatMap((m) => podOf(m)!.spec.containers.filter(isChat).map(roleOf)));
    const clusterRoles = Object.entries(ROLES).filter(([role, r]) => r.kind === 'server' && role !== 'standalone').map(([role]) => role);
    expect(clusterRoles).toContain('indexer');
    for (const role of clusterRoles) expect(run.has(role), role).toBe(true);
  });

  it("searches in one PostgreSQL: actor hosts and indexers with SEARCH=postgres and the same PG_URL, from a Secret; the indexers on the actors' store", () => {
    const containerOf = (name: string) => podOf(find('Deployment', name)!)!.spec.containers[0]!;
    const configOf = (name: string, role: string) => checkRoleEnv(role, containerEnv(manifests, containerOf(name)).env).config!;
    const actors = configOf('chat-actors', 'actors');
    const indexer = configOf('chat-indexer', 'indexer');
    expect(actors.SEARCH).toBe('postgres');
    expect(indexer.SEARCH).toBe('postgres');
    expect(indexer.PG_URL).toBe(actors.PG_URL);
    expect(new URL(actors.PG_URL as string).protocol).toMatch(/^postgres(ql)?:$/);
    // A URL with a password belongs in a Secret: no ConfigMap carries PG_URL.
    for (const m of manifests.filter((x) => x.kind === 'ConfigMap')) expect(Object.keys((m.data as Record<string, string>) ?? {}), m.metadata.name).not.toContain('PG_URL');
    for (const name of ['chat-actors', 'chat-indexer']) expect(containerOf(name).envFrom?.some((f) => f.secretRef && dataOf(manifests, 'Secret', f.secretRef.name)?.PG_URL), name).toBe(true);
    for (const key of ['STORE', 'SCYLLA_CONTACT_POINTS', 'SCYLLA_KEYSPACE', 'SCYLLA_LOCAL_DC']) expect(indexer[key], key).toEqual(actors[key]);
    // Not more catch-ups at once than PostgreSQL connections to run them.
    expect(indexer.INDEXER_CONCURRENCY as number).toBeLessThanOrEqual(indexer.PG_POOL_MAX as number);
  });
});

describe('deploy/k8s checks', () => {
  it('the dev overlay runs one replica of each role, with smaller resources, in its namespace', () => {
    for (const role of ['gateway', 'actors', 'presence', 'indexer']) {
      const d = dev.manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === `chat-${role}`)!;
      expect((d.spec as { replicas: number }).replicas).toBe(1);
      expect(d.metadata.namespace).toBe('chat-dev');
      const memory = (m: Manifest) => podOf(m)!.spec.containers[0]!.resources!.limits!.memory!;
      const b = base.manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === `chat-${role}`)!;
      const mebibytes = (q: string) => parseInt(q) * (q.endsWith('Gi') ? 1024 : 1);
      expect(mebibytes(memory(d)), role).toBeLessThan(mebibytes(memory(b)));
    }
  });

  it('fails a container with a variable its role does not read, a probe on a port or path the role does not serve, or a field Kubernetes does not have', () => {
    const mutate = (f: (gateway: Container) => void) => {
      const copy = structuredClone(base.manifests);
      f(podOf(copy.find((m) => m.kind === 'Deployment' && m.metadata.name === 'chat-gateway')!)!.spec.containers[0]!);
      return copy;
    };
    expect(chatProblems(mutate((c) => c.env!.push({ name: 'NATS_URLS', value: 'nats://nats:4222' })))).toContain('Deployment chat-gateway/gateway: NATS_URLS: not a setting of chat gateway');
    expect(chatProblems(mutate((c) => (c.readinessProbe!.httpGet!.port = 9100)))).toContain('Deployment chat-gateway/gateway: readinessProbe on port 9100, but chat gateway serves /healthz /readyz /metrics on 9101');
    // The public port serves no probe path.
    expect(chatProblems(mutate((c) => (c.livenessProbe!.httpGet!.port = 'http')))).toContain('Deployment chat-gateway/gateway: livenessProbe on port http, but chat gateway serves /healthz /readyz /metrics on 9101');
    expect(chatProblems(mutate((c) => (c.livenessProbe!.httpGet!.path = '/health')))).toContain('Deployment chat-gateway/gateway: livenessProbe on /health, which chat gateway does not serve');
    expect(chatProblems(mutate((c) => c.env!.push({ name: 'GRPC_PORT', value: '9091' }))).join('\n')).toMatch(/container ports 8080, 9090, 9101, but chat gateway listens on 8080, 9091, 9101/);
    // An indexer without the Secret holding PG_URL, or probed for liveness on /readyz.
    const indexer = (f: (c: Container) => void) => {
      const copy = structuredClone(base.manifests);
      f(podOf(copy.find((m) => m.kind === 'Deployment' && m.metadata.name === 'chat-indexer')!)!.spec.containers[0]!);
      return copy;
    };
    expect(chatProblems(indexer((c) => (c.envFrom = c.envFrom!.filter((e) => !e.secretRef))))).toContain(
      'Deployment chat-indexer/indexer: PG_URL: required when SEARCH=postgres (postgres://user:password@host:port/database)',
    );
    expect(chatProblems(indexer((c) => (c.livenessProbe!.httpGet!.path = '/readyz')))).toContain('Deployment chat-indexer/indexer: livenessProbe on /readyz, expected /healthz');
    const typo = structuredClone(base.manifests.find((m) => m.kind === 'Deployment')!);
    (podOf(typo)!.spec.containers[0] as unknown as Obj).readinesProbe = {};
    expect(manifestProblems(typo).join('\n')).toMatch(/readinesProbe: no such field/);
  });

  it('names the external dependencies by Service name, with their Helm charts in deploy/k8s/README.md', () => {
    expect(new URL(dataOf(base.manifests, 'Secret', 'chat-postgres')!.PG_URL!).hostname).toBe('postgresql');
    const readme = readFileSync(join(k8sDir, 'README.md'), 'utf8');
    for (const chart of ['nats/nats', 'bitnami/redis', 'scylla/scylla', 'bitnami/postgresql']) expect(readme).toContain(chart);
    expect(readme).not.toMatch(/\]\((https?:)?\/\//);
    const shared = dataOf(base.manifests, 'ConfigMap', 'chat-shared')!;
    expect(shared.NATS_URL).toBe('nats://nats:4222');
  });
});
