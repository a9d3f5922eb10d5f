import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cannotWriteWhen } from '@chat/testkit/cannot-write-store';
import { StoreCannotWriteError, StoreUnavailableError } from '../errors.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { WriteHealthStore } from './write-health.js';

// The real SQLite store behind a thin wrapper that refuses writes as a full
// disk does (deploy's standalone.full-disk.test.ts does it with a real full tmpfs).

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function open(probeMs = 50) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-health-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const real = openSqliteStore({ dataDir: dir });
  let full = false;
  const faulty = cannotWriteWhen(real, () => full);
  const store = new WriteHealthStore(faulty, { probeMs });
  cleanups.push(() => store.close());
  return { store, faulty, setFull: (f: boolean) => (full = f) };
}

const ann = { id: 'ann', name: 'Ann' };

describe('WriteHealthStore', () => {
  it('turns unwritable on a write the store cannot take, keeps reads going, and turns writable by its probe once space returns', async () => {
    const { store, faulty, setFull } = open();
    await store.upsertUser(ann);
    expect(store.writable).toBe(true);

    setFull(true);
    await expect(store.upsertUser({ id: 'bob', name: 'Bob' })).rejects.toBeInstanceOf(StoreCannotWriteError);
    expect(store.writable).toBe(false);
    expect(store.failure?.message).toMatch(/disk is full/);
    expect(await store.getUsers(['ann'])).toEqual([ann]);
    // Probes keep running (and failing) while the disk is full.
    const before = faulty.attempts;
    await until(() => faulty.attempts >= before + 2, 2000);
    expect(store.writable).toBe(false);

    setFull(false);
    // No write needed: the probe (a real write beside the database) finds space again.
    await until(() => store.writable, 2000);
    await store.upsertUser({ id: 'bob', name: 'Bob' });
    expect((await store.getUsers(['ann', 'bob'])).map((u) => u.id).sort()).toEqual(['ann', 'bob']);
  });

  it('is recovered by the next real write too, and is not moved by other failures', async () => {
    const { store, setFull } = open(60_000);
    setFull(true);
    await expect(store.upsertUser(ann)).rejects.toBeInstanceOf(StoreCannotWriteError);
    expect(store.writable).toBe(false);
    setFull(false);
    await store.upsertUser(ann);
    expect(store.writable).toBe(true);
    // A store closed (or unreachable) is not a full disk.
    await store.close();
    await expect(store.upsertUser(ann)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(store.writable).toBe(true);
  });
});
