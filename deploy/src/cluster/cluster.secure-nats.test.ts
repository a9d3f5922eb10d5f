import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Events, type NatsConnection, type NatsError, connect } from 'nats';
import type { EventFrame } from '@chat/testkit/chat-client';
import { useCluster } from '@chat/testkit/cluster-fixture';
import { type NatsCertificates, NatsOperator, natsCertificates } from '@chat/testkit/nats-security';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { NatsChangeFeed, NatsChangeFollower, NatsKvLeaseTable, claimsBucketOf, ensureBucketReplicas, silentLogger } from '@chat/platform';
import type { Role } from '../cluster/local-cluster.js';
import { chatBin, deployRoot } from '../paths.js';

/** The example configuration shipped in deploy/nats, used as it is. */
const EXAMPLE_CONFIG = join(deployRoot(), 'nats', 'nats-server.conf');
/** How long the server may take to report a permission violation (it does so at once; generous for a loaded machine). */
const VIOLATION_WITHIN_MS = 10_000;
/** A failed start must end, and quickly: no reconnect loop. Generous for a loaded machine. */
const EXIT_WITHIN_MS = 15_000;

const { start: startCluster, login } = useCluster();

let dir: string;
let certs: NatsCertificates;
// Leading digits and `#`: unquoted, nats-server would misread each of them.
const passwords: Record<Role, string> = {
  gateway: `1e5#${randomBytes(12).toString('hex')}`,
  actors: `42 ${randomBytes(12).toString('hex')}`,
  presence: `7#${randomBytes(12).toString('hex')}`,
  indexer: `0x${randomBytes(12).toString('hex')}`,
};

/**
 * What the example configuration reads from the server's environment; a new JetStream store each time.
 * Quoted, as docs/operations.md says: nats-server parses a variable's value as a configuration value,
 * so an unquoted password such as `1e5a...` is read as a number, and fails.
 */
function serverEnv(): Record<string, string> {
  const quoted = (value: string) => JSON.stringify(value);
  return {
    NATS_STORE_DIR: quoted(mkdtempSync(join(dir, 'jetstream-'))),
    NATS_SERVER_CERT: quoted(certs.server.certPath),
    NATS_SERVER_KEY: quoted(certs.server.keyPath),
    NATS_CLIENT_CA: quoted(certs.caPath),
    GATEWAY_NATS_PASSWORD: quoted(passwords.gateway),
    ACTORS_NATS_PASSWORD: quoted(passwords.actors),
    PRESENCE_NATS_PASSWORD: quoted(passwords.presence),
    INDEXER_NATS_PASSWORD: quoted(passwords.indexer),
  };
}

/** A role's settings: its own user, the CA and the client certificate. */
function roleEnv(role: Role): Record<string, string> {
  return { NATS_USER: role, NATS_PASSWORD: passwords[role], ...tlsEnv() };
}

function tlsEnv(): Record<string, string> {
  return { NATS_TLS_CA: certs.caPath, NATS_TLS_CERT: certs.client.certPath, NATS_TLS_KEY: certs.client.keyPath };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'secure-nats-'));
  certs = natsCertificates(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stderr: string;
  ms: number;
}

/** Spawns `chat <role>` with only the NATS settings given (none inherited). */
function spawnRole(role: Role, env: Record<string, string>) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NATS_')));
  return spawn(process.execPath, [chatBin(), role], {
    env: { ...inherited, LOG_LEVEL: 'info', PORT: '0', GRPC_PORT: '0', JWT_SECRET: 'x'.repeat(32), DATA_DIR: mkdtempSync(join(dir, 'data-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `chat <role>` to its exit. */
function run(role: Role, env: Record<string, string>): Promise<Outcome> {
  const started = performance.now();
  const child = spawnRole(role, env);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chat ${role} still running after ${EXIT_WITHIN_MS} ms:\n${stderr}`));
    }, EXIT_WITHIN_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: performance.now() - started });
    });
  });
}

/** Starts `chat <role>`, waits until it says it is ready, then stops it with SIGTERM; resolves with its exit code. */
async function startAndStop(role: Role, env: Record<string, string>): Promise<number | null> {
  const child = spawnRole(role, env);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chat ${role} not ready in time:\n${output}`)), EXIT_WITHIN_MS);
    const onData = (d: Buffer) => {
      output += d;
      if (output.includes(`${role} ready`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`chat ${role} exited (${code}) before it was ready:\n${output}`)));
  });
  child.kill('SIGTERM');
  return exited;
}

/** Exit 1 with one line on stderr, `chat <role>: ...`, containing each of `mentions`. */
function expectOneLine(o: Outcome, role: Role, mentions: string[]): void {
  expect(o.code, o.stderr).toBe(1);
  const lines = o.stderr.trim().split('\n');
  expect(lines, o.stderr).toHaveLength(1);
  expect(lines[0]!.startsWith(`chat ${role}: `), lines[0]).toBe(true);
  for (const m of mentions) expect(lines[0]).toContain(m);
}

describe('chat roles against the example nats-server configuration (deploy/nats/nats-server.conf)', () => {
  let nats: NatsServerProcess;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false, configFile: EXAMPLE_CONFIG, env: serverEnv() });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('a role without credentials, with a wrong password, or without the TLS files ends its start with one line naming the cause', async () => {
    for (const role of ['gateway', 'actors', 'presence'] as const) {
      const anonymous = await run(role, { NATS_URL: nats.url, ...tlsEnv() });
      expectOneLine(anonymous, role, [`NATS at ${nats.url} refused the connection`, 'Authorization Violation', 'connecting without credentials']);
      console.log(`chat ${role} without credentials: exit ${anonymous.code} after ${Math.round(anonymous.ms)} ms: ${anonymous.stderr.trim()}`);
    }
    const wrong = await run('gateway', { NATS_URL: nats.url, ...tlsEnv(), NATS_USER: 'gateway', NATS_PASSWORD: 'not-it' });
    expectOneLine(wrong, 'gateway', ['refused the connection', 'user "gateway" (NATS_USER)']);
    expect(wrong.stderr).not.toContain('not-it');
    // Another role's password is not this user's.
    const swapped = await run('actors', { NATS_URL: nats.url, ...tlsEnv(), NATS_USER: 'actors', NATS_PASSWORD: passwords.gateway });
    expectOneLine(swapped, 'actors', ['refused the connection']);
    const noTls = await run('presence', { NATS_URL: nats.url, ...roleEnv('presence'), NATS_TLS_CA: '', NATS_TLS_CERT: '', NATS_TLS_KEY: '' });
    expectOneLine(noTls, 'presence', [`TLS with NATS at ${nats.url} failed`]);
    console.log(`chat presence without NATS_TLS_*: ${noTls.stderr.trim()}`);
  }, 120_000);

  it('a bad combination of settings is refused before anything starts: exit 2, naming the variables', async () => {
    const o = await run('actors', { NATS_URL: nats.url, NATS_USER: 'actors', NATS_TOKEN: 't' });
    expect(o.code, o.stderr).toBe(2);
    expect(o.stderr.trim()).toBe('chat actors: invalid configuration: NATS_USER/NATS_PASSWORD, NATS_TOKEN: set one way of authenticating to NATS, not 2');
    const missing = join(dir, 'missing.crt');
    const file = await run('gateway', { NATS_URL: nats.url, NATS_TLS_CA: missing });
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(`NATS_TLS_CA: cannot read ${missing}`);
  });
});

describe('the change notices (SEARCH=postgres) on the example configuration', () => {
  it('the actors’ user publishes notices and creates their stream, the indexer’s user follows and acknowledges them, a gateway may not publish one', async () => {
    const nats = await startNatsServer({ jetstream: false, configFile: EXAMPLE_CONFIG, env: serverEnv() });
    const actors = await connectAs(nats.url, 'actors');
    const indexer = await connectAs(nats.url, 'indexer');
    const gateway = await connectAs(nats.url, 'gateway');
    try {
      // The stream and consumer names the roles use (their defaults), so the grants are checked as written.
      const feed = await NatsChangeFeed.open(actors.nc, { shards: 8 });
      await feed.publish({ conversationId: 'conv-1', lastSeq: 1, changeSeq: 0 });
      const follower = await NatsChangeFollower.open(indexer.nc, { fetchWaitMs: 200 });
      let got: string[] = [];
      const deadline = Date.now() + 10_000;
      while (got.length === 0 && Date.now() < deadline) {
        const batch = await follower.next();
        if (batch.loss) await follower.reconciled(batch.loss);
        got = batch.notices.map((d) => {
          d.ack();
          return d.notice.conversationId;
        });
      }
      expect(got).toEqual(['conv-1']);
      await follower.close();

      gateway.nc.publish('chat.changes.0', new Uint8Array());
      expect(await gateway.violation).toMatchObject({ operation: 'publish', subject: 'chat.changes.0' });
      const violations = nats.output().split('\n').filter((line) => /Violation/.test(line));
      for (const line of violations) expect(line, 'only the gateway overstepped').toMatch(/User "gateway"/);
    } finally {
      await Promise.all([actors.nc.close(), indexer.nc.close(), gateway.nc.close()]);
      await nats.stop();
    }
  }, 60_000);
});

describe('the lease buckets on the example configuration', () => {
  it('the actors’ user does every lease operation a failover needs (create, acquire, read, take over, release, check replicas) without a violation', async () => {
    const nats = await startNatsServer({ jetstream: false, configFile: EXAMPLE_CONFIG, env: serverEnv() });
    const actors = await connectAs(nats.url, 'actors');
    try {
      // The bucket names the roles use by default, so the grants are checked as written.
      for (const bucket of ['chat_leases', claimsBucketOf('chat_leases')]) {
        const table = await NatsKvLeaseTable.open(actors.nc, { ttlMs: bucket === 'chat_leases' ? 2000 : 0, bucket });
        const first = await table.acquire('k', 'host-a');
        expect(first).not.toBeNull();
        // Reads (a takeover looks at the claim and at its owner's host lease) go to the stream leader.
        expect(await table.get('k')).toMatchObject({ owner: 'host-a', revision: first!.revision });
        const taken = await table.take('k', 'host-b', first!.revision);
        expect(taken).not.toBeNull();
        await table.release('k', taken!.revision);
        expect(await table.get('k')).toBeNull();
        expect((await table.live('')).keys).toEqual([]);
        expect(await ensureBucketReplicas(await actors.nc.jetstreamManager(), { bucket, replicas: 1, setting: 'LEASE_REPLICAS', logger: silentLogger() })).toBe(false);
      }
      const violations = nats.output().split('\n').filter((line) => /Violation/.test(line));
      expect(violations).toEqual([]);
    } finally {
      await actors.nc.close();
      await nats.stop();
    }
  }, 60_000);
});

describe('chat presence on a server in operator (JWT) mode', () => {
  it('starts with a creds file of the account, and is refused without one or with another operator’s', async () => {
    const operator = new NatsOperator();
    const config = join(dir, 'operator.conf');
    writeFileSync(config, operator.serverConfig());
    const nats = await startNatsServer({ jetstream: false, configFile: config });
    try {
      expect(await startAndStop('presence', { NATS_URL: nats.url, NATS_CREDS: operator.userCreds(dir, 'presence') })).toBe(0);
      expectOneLine(await run('presence', { NATS_URL: nats.url }), 'presence', ['refused the connection', 'connecting without credentials']);
      const stranger = new NatsOperator().userCreds(dir, 'stranger');
      expectOneLine(await run('presence', { NATS_URL: nats.url, NATS_CREDS: stranger }), 'presence', ['refused the connection', `the creds file ${stranger} (NATS_CREDS)`]);
    } finally {
      await nats.stop();
    }
  }, 60_000);
});

describe('a cluster on the example configuration, one NATS user per role', () => {
  it('serves (leases, messages across gateways, typing, presence) and each user is held to its role’s subjects', async () => {
    // A NATS setting of the launching shell is not passed on (with NATS_USER it would be two ways of authenticating).
    process.env.NATS_TOKEN = 'from-the-shell';
    let c;
    try {
      c = await startCluster(2, 2, { natsConfig: { file: EXAMPLE_CONFIG, env: serverEnv() }, roleEnv });
    } finally {
      delete process.env.NATS_TOKEN;
    }
    // Started means every shard is leased and owned: the actor hosts' lease, claims and settings buckets work.
    const [g1, g2] = c.gateways;
    const ann = await login(g1!.url, 'Ann Secure');
    const bob = await login(g2!.url, 'Bob Secure');
    const { conversation } = await ann.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'locked down', members: [bob.user.id] });
    const room = conversation.id;
    await bob.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as { id: string }).id === room, 20_000);
    await ann.call('message.send', { conversationId: room, clientMsgId: 's1', body: 'over TLS' });
    const heard = await bob.waitForEvent((e) => e.ev === 'message.new' && (e.message as { body: string }).body === 'over TLS', 20_000);
    expect((heard.message as { conversationId: string }).conversationId).toBe(room);
    // Typing goes gateway → presence → conversation subject; presence.get is a request presence answers.
    await ann.call('typing', { conversationId: room, active: true });
    await bob.waitForEvent((e: EventFrame) => e.ev === 'typing' && e.userId === ann.user.id, 20_000);
    const { presence } = await ann.call<{ presence: { userId: string; online: boolean }[] }>('presence.get', { userIds: [bob.user.id] });
    expect(presence).toEqual([expect.objectContaining({ userId: bob.user.id, online: true })]);

    // The gateway's user may not publish an event (only actor hosts and presence may), nor write the lease bucket.
    const gateway = await connectAs(c.nats.url, 'gateway');
    const tap = await connectAs(c.nats.url, 'gateway');
    const presenceUser = await connectAs(c.nats.url, 'presence');
    const snoop = await connectAs(c.nats.url, 'presence');
    try {
      const forged: string[] = [];
      // Bob's gateway listens on the room's subject; so does this tap, another gateway connection.
      tap.nc.subscribe(`chat.conv.${room}`, { callback: (_err, msg) => forged.push(new TextDecoder().decode(msg.data)) });
      await tap.nc.flush();
      gateway.nc.publish(`chat.conv.${room}`, new TextEncoder().encode('forged event'));
      const violation = await gateway.violation;
      expect(violation).toMatchObject({ operation: 'publish', subject: `chat.conv.${room}` });

      const write = await gateway.nc.request('$KV.chat_leases.shard.0', new TextEncoder().encode('mine now'), { timeout: 5000 }).then(
        () => undefined,
        (err: unknown) => err as NatsError,
      );
      expect(write?.code).toBe(ErrorCode.PermissionsViolation);
      expect(write?.message).toMatch(/Permissions Violation for Publish to "\$KV\.chat_leases\.shard\.0"/);

      // Presence may not take the actors' shard requests, nor answer requests it never received.
      presenceUser.nc.subscribe('chat.shard.*');
      expect(await presenceUser.violation).toMatchObject({ operation: 'subscription', subject: 'chat.shard.*' });
      // Nor read the replies the actors send the gateways: each role's inbox prefix is its own.
      snoop.nc.subscribe('_INBOX.gateway.>');
      expect(await snoop.violation).toMatchObject({ operation: 'subscription', subject: '_INBOX.gateway.>' });

      // An actor host stopped and started again: it releases its shard leases (a purge) and takes its share back.
      await c.restart(c.actorHosts[0]!);
      await c.waitForShards();
      // Nothing forged arrived; the cluster still serves.
      await ann.call('message.send', { conversationId: room, clientMsgId: 's2', body: 'still fine' });
      await bob.waitForEvent((e) => e.ev === 'message.new' && (e.message as { body: string }).body === 'still fine', 20_000);
      expect(forged).not.toContain('forged event');
      const violations = c.nats.output().split('\n').filter((line) => /Violation/.test(line));
      console.log(violations.join('\n'));
      expect(violations.join('\n')).toMatch(/Publish Violation - User "gateway", Subject "chat\.conv\./);
      // Only the test's own connections overstepped: the roles needed nothing the configuration does not grant.
      for (const line of violations) expect(line).toMatch(/test-(gateway|presence)/);
    } finally {
      await Promise.all([gateway.nc.close(), tap.nc.close(), presenceUser.nc.close(), snoop.nc.close()]);
    }

    // nats-server restarted (same configuration and store): every role logs in again with its own credentials.
    // Events published before Bob's gateway is back are lost (core NATS), so send until one arrives.
    await c.nats.restart();
    const deadline = Date.now() + 40_000;
    for (let i = 0; ; i++) {
      const body = `after the restart ${i}`;
      await ann.call('message.send', { conversationId: room, clientMsgId: `r${i}`, body });
      const arrived = await bob.waitForEvent((e) => e.ev === 'message.new' && (e.message as { body: string }).body === body, 5000).then(
        () => true,
        () => false,
      );
      if (arrived) break;
      if (Date.now() > deadline) throw new Error('no message reached Bob within 40 s of the NATS restart');
    }
  }, 180_000);
});

/** A raw NATS connection as one role's user, and the first permission violation the server reports to it. */
async function connectAs(url: string, role: Role): Promise<{ nc: NatsConnection; violation: Promise<{ operation: string; subject: string }> }> {
  const nc = await connect({
    servers: url,
    name: `test-${role}`,
    user: role,
    pass: passwords[role],
    tls: { caFile: certs.caPath, certFile: certs.client.certPath, keyFile: certs.client.keyPath },
    // As the role connects (natsConnectSettings): its replies under its own prefix.
    inboxPrefix: `_INBOX.${role}`,
  });
  let timer: NodeJS.Timeout | undefined;
  const violation = Promise.race([
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === Events.Error && s.permissionContext) return s.permissionContext;
      }
      throw new Error('connection closed without a permission violation');
    })(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no permission violation reported to ${role}'s connection within ${VIOLATION_WITHIN_MS} ms`)), VIOLATION_WITHIN_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  violation.catch(() => {});
  return { nc, violation };
}
