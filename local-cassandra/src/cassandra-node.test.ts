import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Client } from 'cassandra-driver';
import { type CassandraNode, LOCAL_DATA_CENTER, startCassandraNode } from './cassandra-node.js';
import { CassandraStartError, JavaNotFoundError, MavenNotFoundError, MavenResolveError, PortTakenError } from './errors.js';
import { findJava } from './java.js';
import { resolveCassandraJars } from './maven-artifacts.js';

let javaMissing: string | undefined;
try {
  findJava();
} catch (err) {
  javaMissing = (err as Error).message;
  console.log(`local Cassandra node tests skipped: ${javaMissing}`);
}

describe('errors that need no node', () => {
  it('no java: JavaNotFoundError naming what was looked for', async () => {
    const err = await startCassandraNode({ env: { ...process.env, JAVA_HOME: '/nonexistent-jdk' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JavaNotFoundError);
    expect((err as Error).message).toMatch(/\/nonexistent-jdk\/bin\/java not found/);
  });

  it('no mvn and nothing cached: MavenNotFoundError naming the cache folder', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'chat-cassandra-cache-'));
    try {
      const err = await resolveCassandraJars({ cacheDir, env: { PATH: '/nonexistent' } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MavenNotFoundError);
      expect((err as Error).message).toContain(cacheDir);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(javaMissing !== undefined)('a local Cassandra node', () => {
  let node: CassandraNode | undefined;

  afterAll(async () => {
    await node?.stop();
  }, 30_000);

  it('starts from the Maven jars, answers CQL with real LWT semantics, and stops cleanly, leaving nothing behind', async () => {
    const started = performance.now();
    node = await startCassandraNode();
    console.log(`local Cassandra ${node.releaseVersion} answered CQL ${Math.round(performance.now() - started)} ms after start`);
    expect(node.releaseVersion).toMatch(/^5\.0\./);
    const client = new Client({ contactPoints: [node.contactPoint], localDataCenter: LOCAL_DATA_CENTER });
    try {
      await client.connect();
      await client.execute("CREATE KEYSPACE k WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
      await client.execute('CREATE TABLE k.t (id int PRIMARY KEY, v int)');
      const first = await client.execute('INSERT INTO k.t (id, v) VALUES (1, 1) IF NOT EXISTS');
      const second = await client.execute('INSERT INTO k.t (id, v) VALUES (1, 2) IF NOT EXISTS');
      expect(first.first().get('[applied]')).toBe(true);
      expect(second.first().get('[applied]')).toBe(false);
      expect(second.first().get('v')).toBe(1);
    } finally {
      await client.shutdown();
    }
    const { dir } = node;
    const stopping = performance.now();
    await node.stop();
    expect(await node.exited).toEqual({ code: expect.any(Number), signal: null });
    console.log(`local Cassandra stopped ${Math.round(performance.now() - stopping)} ms after SIGTERM`);
    expect(existsSync(dir)).toBe(false);
  }, 240_000);

  it('refuses a CQL port that is taken, before starting a JVM', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const err = await startCassandraNode({ cqlPort: port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PortTakenError);
      expect((err as PortTakenError).port).toBe(port);
    } finally {
      server.close();
    }
  });

  it('a node that dies while starting: CassandraStartError with the end of its log', async () => {
    // A heap the JVM refuses: it exits at once, the honest stand-in for any early death.
    const err = await startCassandraNode({ heap: '1k' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CassandraStartError);
    expect((err as Error).message).toMatch(/exited during start \(code 1\)/);
    expect((err as CassandraStartError).logTail).toMatch(/heap/i);
    expect(existsSync((err as CassandraStartError).logFile)).toBe(false); // its directory is cleaned up too
  });

  it('Maven refusing an artifact: MavenResolveError quoting what Maven said', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'chat-cassandra-cache-'));
    try {
      const err = await resolveCassandraJars({ cacheDir, version: '0.0.0-no-such-release' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MavenResolveError);
      expect((err as Error).message).toMatch(/cassandra-all:0\.0\.0-no-such-release/);
      expect((err as MavenResolveError).refused).toMatch(/\[ERROR\]/);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }, 120_000);
});
