import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadEnvConfig } from '@chat/platform';
import { type LivePg, startLivePg } from '@chat/testkit/live-pg';
import { message } from '@chat/testkit/store-contract';
import { catchUp } from '../search/catch-up.js';
import { openPgSearchIndex } from '../search/postgres/pg-search-index.js';
import { actorsEnvSchema } from '../config.js';
import { StoreUnavailableError } from '../errors.js';
import { openStore } from './open-store.js';

const env = (vars: NodeJS.ProcessEnv) => loadEnvConfig(actorsEnvSchema, vars);
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );

describe('openStore with STORE=scylla', () => {
  it('refuses ACTOR_MAX_BATCH above the Scylla store’s batch limit at start, naming the variable, before connecting', async () => {
    const err = await rejection(openStore(env({ STORE: 'scylla', SCYLLA_CONTACT_POINTS: '127.0.0.1:1', ACTOR_MAX_BATCH: '5000' })));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^ACTOR_MAX_BATCH: at most 1000 with STORE=scylla/)]);
  });

  it('needs SCYLLA_CONTACT_POINTS', async () => {
    const err = await rejection(openStore(env({ STORE: 'scylla' })));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join()).toMatch(/SCYLLA_CONTACT_POINTS/);
  });

  it('with valid settings but no node listening, fails as unavailable (retryable), not with a driver error', async () => {
    expect(await rejection(openStore(env({ STORE: 'scylla', SCYLLA_CONTACT_POINTS: '127.0.0.1:1' })))).toBeInstanceOf(StoreUnavailableError);
  });
});

describe('openStore with SEARCH=postgres', () => {
  let server: LivePg | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await server?.destroy();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = () => {
    dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), 'chat-open-')));
    return path.join(dirs[dirs.length - 1]!, 'data');
  };

  it('defaults to the store’s own index, and checks PG_URL’s form whenever it is set', () => {
    expect(env({})).toMatchObject({ SEARCH: 'store', PG_URL: '', PG_POOL_MAX: 10 });
    for (const bad of ['mysql://db/chat', 'db:5432', 'postgres://']) {
      expect(() => env({ PG_URL: bad })).toThrow(/PG_URL: expected a postgres:\/\/ or postgresql:\/\/ URL/);
    }
    expect(() => env({ SEARCH: 'elastic' })).toThrow(ConfigError);
    expect(() => env({ PG_POOL_MAX: '0' })).toThrow(/PG_POOL_MAX/);
  });

  it('needs PG_URL, and says so before opening the store', async () => {
    const dir = dataDir();
    const err = await rejection(openStore(env({ SEARCH: 'postgres', DATA_DIR: dir })));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^PG_URL: required when SEARCH=postgres/)]);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('fails as unavailable naming PG_URL’s host when nothing listens there', async () => {
    const err = await rejection(openStore(env({ SEARCH: 'postgres', PG_URL: 'postgresql://chat:secret@127.0.0.1:1/chat', DATA_DIR: dataDir() })));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/127\.0\.0\.1:1 \(PG_URL\)/);
    expect((err as Error).message).not.toMatch(/secret/);
  });

  it('serves searchMessages from the PostgreSQL index and the rest from the store', async () => {
    server = await startLivePg();
    const store = await openStore(env({ SEARCH: 'postgres', PG_URL: server.url, DATA_DIR: dataDir() }));
    try {
      await store.createConversation({ id: 'c1', kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'alice', role: 'owner' }] }, 1);
      await store.appendMessages({ conversationId: 'c1', epoch: 1, expectedLastSeq: 0, messages: [message('c1', 1, 'alice', { body: 'indexed elsewhere' })] });
      // Nothing indexed it yet: the store has it, the index does not.
      expect((await store.searchMessages('alice', { text: 'elsewhere', limit: 5 })).hits).toEqual([]);
      const index = await openPgSearchIndex({ url: server.url, poolMax: 1 });
      await catchUp(store, index, 'c1');
      await index.close();
      expect((await store.searchMessages('alice', { text: 'elsewhere', limit: 5 })).hits.map((h) => h.message.seq)).toEqual([1]);
    } finally {
      await store.close();
    }
  });
});
