import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '@chat/proto';
import { type LivePg, startLivePg } from '@chat/testkit/live-pg';
import { message } from '@chat/testkit/store-contract';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { searchTerms } from '../store/search/search-terms.js';
import type { ChatStore } from '../store/store.js';
import { StoreUnavailableError } from '../errors.js';
import { CATCH_UP_PAGE, catchUp } from './catch-up.js';
import type { SearchIndex } from './search-index.js';
import { type PgSearchIndex, openPgSearchIndex } from './postgres/pg-search-index.js';

let server: LivePg;
let index: PgSearchIndex;
let store: ChatStore;
let dataDir: string;
let n = 0;
const conv = () => `cu${Date.now()}-${++n}`;

beforeAll(async () => {
  server = await startLivePg();
  index = await openPgSearchIndex({ url: server.url, poolMax: 4 });
});
afterAll(async () => {
  await index?.close();
  await server?.destroy();
});
afterEach(async () => {
  await store?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
const openStore = () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-catchup-'));
  store = openSqliteStore({ dataDir });
  return store;
};

const find = async (c: string, text: string) =>
  (await index.candidates({ conversationIds: [c], terms: searchTerms(text), limit: 5000 })).candidates.map((x) => x.seq);

async function create(c: string): Promise<void> {
  await store.createConversation({ id: c, kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'alice', role: 'owner' }] }, 1);
}
async function post(c: string, lastSeq: number, bodies: string[], fields: Partial<ChatMessage> = {}): Promise<ChatMessage[]> {
  const messages = bodies.map((body, i) => message(c, lastSeq + 1 + i, 'alice', { body, ...fields }));
  await store.appendMessages({ conversationId: c, epoch: 1, expectedLastSeq: lastSeq, messages });
  return messages;
}

describe('catchUp', () => {
  it('indexes new messages, then edits and deletes from the change position; a deleted message is never found', async () => {
    openStore();
    const c = conv();
    await create(c);
    const [first, second] = await post(c, 0, ['meet at the harbour', 'harbour lights', 'lunch']);
    const done = await catchUp(store, index, c);
    expect(done).toMatchObject({ put: 3, removed: 0, newestCreatedAt: 1_700_000_003_000, position: { indexedSeq: 3, indexedChangeSeq: 0 } });
    expect(await find(c, 'harbour')).toEqual([2, 1]);

    await store.updateMessage({ epoch: 1, message: { ...first!, body: 'meet at the station', editedAt: 9, changeSeq: 1 } });
    await store.updateMessage({ epoch: 1, message: { ...second!, body: '', deleted: true, changeSeq: 2 } });
    await post(c, 3, ['harbour again']);
    const again = await catchUp(store, index, c);
    expect(again).toMatchObject({ put: 2, removed: 1, position: { indexedSeq: 4, indexedChangeSeq: 2 } });
    expect(await find(c, 'harbour')).toEqual([4]);
    expect(await find(c, 'station')).toEqual([1]);
    expect(await find(c, 'lights')).toEqual([]);
    // Nothing new: nothing applied.
    expect(await catchUp(store, index, c)).toMatchObject({ put: 0, removed: 0, newestCreatedAt: null, position: { indexedSeq: 4, indexedChangeSeq: 2 } });
  });

  it('keeps a stream out until it is finished, then indexes its final text', async () => {
    openStore();
    const c = conv();
    await create(c);
    const [streamed] = await post(c, 0, ['Once upon'], { streaming: true });
    expect(await catchUp(store, index, c)).toMatchObject({ put: 0, removed: 1 });
    expect(await find(c, 'once')).toEqual([]);
    await store.updateMessage({ epoch: 1, message: { ...streamed!, body: 'Once upon a time', streaming: false, changeSeq: 1 } });
    expect(await catchUp(store, index, c)).toMatchObject({ put: 1, position: { indexedSeq: 1, indexedChangeSeq: 1 } });
    expect(await find(c, 'time')).toEqual([1]);
  });

  it('records a change position that moved with no message changed (a membership change), and does nothing for an unknown conversation', async () => {
    openStore();
    const c = conv();
    await create(c);
    await post(c, 0, ['hello']);
    await catchUp(store, index, c);
    await store.applyMembershipChange({ conversationId: c, epoch: 1, add: [], remove: [], roles: [], title: 'new', changeSeq: 1 });
    expect(await catchUp(store, index, c)).toMatchObject({ put: 0, position: { indexedSeq: 1, indexedChangeSeq: 1 } });
    expect(await index.position(c)).toEqual({ indexedSeq: 1, indexedChangeSeq: 1 });
    expect(await catchUp(store, index, `${c}-none`)).toMatchObject({ put: 0, removed: 0, position: { indexedSeq: 0, indexedChangeSeq: 0 } });
  });

  it('goes in steps of CATCH_UP_PAGE, each moving the position, and is idempotent when run again after a partial run', async () => {
    openStore();
    const c = conv();
    await create(c);
    const total = CATCH_UP_PAGE * 2 + 7;
    for (let seq = 0; seq < total; seq += 250) await post(c, seq, Array.from({ length: Math.min(250, total - seq) }, (_, i) => `wave ${seq + i}`));
    // An indexer that dies after the first step: its position says so, and catching up again finishes the job.
    const steps: number[] = [];
    let failAfter = 1;
    const watching: SearchIndex = {
      position: (id) => index.position(id),
      candidates: (q) => index.candidates(q),
      close: async () => undefined,
      apply: async (u) => {
        if (steps.length === failAfter) throw new StoreUnavailableError('the indexer died');
        steps.push(u.position.indexedSeq);
        await index.apply(u);
      },
    };
    await expect(catchUp(store, watching, c)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await index.position(c)).toEqual({ indexedSeq: CATCH_UP_PAGE, indexedChangeSeq: 0 });
    failAfter = Infinity;
    expect(await catchUp(store, watching, c)).toMatchObject({ put: total - CATCH_UP_PAGE, position: { indexedSeq: total, indexedChangeSeq: 0 } });
    expect(steps).toEqual([CATCH_UP_PAGE, CATCH_UP_PAGE * 2, total]);
    expect((await find(c, 'wave')).length).toBe(total);
    expect(await catchUp(store, index, c)).toMatchObject({ put: 0 });
  });

  it('reads the whole conversation again when more messages changed than one read holds', async () => {
    openStore();
    const c = conv();
    await create(c);
    const messages = await post(c, 0, Array.from({ length: 1100 }, (_, i) => `old ${i}`));
    await catchUp(store, index, c);
    for (const [i, m] of messages.entries()) await store.updateMessage({ epoch: 1, message: { ...m, body: `new ${i}`, editedAt: 5, changeSeq: i + 1 } });
    expect(await catchUp(store, index, c)).toMatchObject({ put: 1100, position: { indexedSeq: 1100, indexedChangeSeq: 1100 } });
    expect(await find(c, 'old')).toEqual([]);
    expect((await find(c, 'new')).length).toBe(1100);
  });
});
