import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { type LivePg, startLivePg } from '@chat/testkit/live-pg';
import { BadRequestError, StoreUnavailableError } from '../../errors.js';
import { searchTerms } from '../../store/search/search-terms.js';
import type { IndexUpdate } from '../search-index.js';
import { PG_SEARCH_SCHEMA_VERSION } from './pg-search-schema.js';
import { PER_CONVERSATION_MAX, type PgSearchIndex, openPgSearchIndex } from './pg-search-index.js';

const T0 = 1_700_000_000_000;
let server: LivePg;
let index: PgSearchIndex;
let n = 0;
/** A conversation id of its own for each use: the tests share one database. */
const conv = (name: string) => `t${++n}-${name}`;
const open = (url = server.url) => openPgSearchIndex({ url, poolMax: 4 });
const put = (conversationId: string, bodies: string[], position?: IndexUpdate['position'], from = 1): IndexUpdate => ({
  conversationId,
  put: bodies.map((body, i) => ({ seq: from + i, createdAt: T0 + (from + i) * 1000, body })),
  remove: [],
  position: position ?? { indexedSeq: from + bodies.length - 1, indexedChangeSeq: 0 },
});
const find = async (conversationIds: string[], text: string, more: { before?: string; limit?: number } = {}) =>
  (await index.candidates({ conversationIds, terms: searchTerms(text), limit: 20, ...more })).candidates.map((c) => `${c.conversationId}/${c.seq}`);

beforeAll(async () => {
  server = await startLivePg();
  index = await open();
});
afterAll(async () => {
  await index?.close();
  await server?.destroy();
});

describe('PgSearchIndex', () => {
  it('matches the shared query language: phrases, a prefix last term, case and diacritics folded, no stemming, no syntax', async () => {
    const c = conv('a');
    await index.apply(put(c, ['Café crème at noon', 'coffee at noon', 'e-mail me: "NEAR" OR not', 'cafeteria', 'running runs', "it's a don't"]));
    expect(await find([c], 'cafe')).toEqual([`${c}/4`, `${c}/1`]);
    expect(await find([c], 'cafe ')).toEqual([`${c}/1`]);
    expect(await find([c], 'NOON café')).toEqual([`${c}/1`]);
    expect(await find([c], 'at noon ')).toEqual([`${c}/2`, `${c}/1`]);
    expect(await find([c], 'noon at ')).toEqual([`${c}/2`, `${c}/1`]);
    expect(await find([c], 'e-mail "near" OR')).toEqual([`${c}/3`]);
    // A phrase needs its words next to each other, in order.
    expect(await find([c], 'mail-e ')).toEqual([]);
    expect(await find([c], 'run ')).toEqual([]);
    expect(await find([c], 'run')).toEqual([`${c}/5`]);
    expect(await find([c], "don't")).toEqual([`${c}/6`]);
    for (const text of ["'; DROP TABLE chat_search_messages; --", 'a & !b | c:*', '<-> (x)', 'a\\b']) {
      await expect(index.candidates({ conversationIds: [c], terms: searchTerms(text), limit: 5 })).resolves.toMatchObject({ candidates: expect.any(Array) });
    }
    expect(await find([c], 'x'.repeat(3000))).toEqual([]);
  });

  it('only looks in the conversations asked for, newest first, paging with a cursor it wrote and refusing others', async () => {
    const a = conv('a');
    const b = conv('b');
    await index.apply(put(a, Array.from({ length: 13 }, (_, i) => `ping ${i}`)));
    await index.apply(put(b, Array.from({ length: 12 }, (_, i) => `ping ${i}`)));
    expect(await find([], 'ping')).toEqual([]);
    expect(await find([b], 'ping', { limit: 3 })).toEqual([`${b}/12`, `${b}/11`, `${b}/10`]);
    const seen: string[] = [];
    let before: string | undefined;
    let pages = 0;
    do {
      const page = await index.candidates({ conversationIds: [a, b], terms: searchTerms('ping'), limit: 10, before });
      seen.push(...page.candidates.map((c) => `${c.conversationId}/${c.seq}`));
      before = page.next ?? undefined;
      pages++;
    } while (before);
    expect(pages).toBe(3);
    // Same createdAt in both: the conversation id breaks the tie, then the seq.
    const expected = [`${a}/13`, ...Array.from({ length: 12 }, (_, i) => [`${b}/${12 - i}`, `${a}/${12 - i}`]).flat()];
    expect(seen).toEqual(expected);
    for (const forged of ['not-a-cursor', Buffer.from('["p",1,"x",1] ').toString('base64url'), Buffer.from('["p",1.5,"x",1]').toString('base64url')]) {
      await expect(index.candidates({ conversationIds: [a], terms: searchTerms('ping'), limit: 5, before: forged })).rejects.toBeInstanceOf(BadRequestError);
    }
  });

  it('orders and pages the same whether it walks each conversation or all of them at once (more than PER_CONVERSATION_MAX)', async () => {
    const ids = Array.from({ length: PER_CONVERSATION_MAX + 5 }, (_, i) => conv(`m${i}`));
    // Interleaved times, ties included: conversation i's message s at T0 + (s * 3 + i % 3) * 1000.
    const expected: { key: string; at: number; id: string; seq: number }[] = [];
    for (const [i, id] of ids.entries()) {
      const put = Array.from({ length: 4 }, (_, s) => ({ seq: s + 1, createdAt: T0 + ((s + 1) * 3 + (i % 3)) * 1000, body: s % 2 ? 'echo chamber' : 'echo' }));
      await index.apply({ conversationId: id, put, remove: [], position: { indexedSeq: 4, indexedChangeSeq: 0 } });
      for (const m of put) expected.push({ key: `${id}/${m.seq}`, at: m.createdAt, id, seq: m.seq });
    }
    expected.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) || b.seq - a.seq);
    const all = async (conversationIds: string[], text: string) => {
      const seen: string[] = [];
      let before: string | undefined;
      do {
        const page = await index.candidates({ conversationIds, terms: searchTerms(text), limit: 7, before });
        seen.push(...page.candidates.map((c) => `${c.conversationId}/${c.seq}`));
        before = page.next ?? undefined;
      } while (before);
      return seen;
    };
    expect(await all(ids, 'echo')).toEqual(expected.map((e) => e.key));
    expect(await all(ids, 'chamber ')).toEqual(expected.filter((e) => e.seq % 2 === 0).map((e) => e.key));
    const few = ids.slice(0, PER_CONVERSATION_MAX);
    expect(await all(few, 'echo')).toEqual(expected.filter((e) => few.includes(e.id)).map((e) => e.key));
  });

  it('replaces a put message, removes, and never lowers a position: an older update is ignored whole', async () => {
    const c = conv('c');
    expect(await index.position(c)).toEqual({ indexedSeq: 0, indexedChangeSeq: 0 });
    await index.apply(put(c, ['harbour lights', 'harbour view']));
    await index.apply({ conversationId: c, put: [{ seq: 1, createdAt: T0 + 1000, body: 'station lights' }], remove: [2], position: { indexedSeq: 2, indexedChangeSeq: 5 } });
    expect(await find([c], 'harbour')).toEqual([]);
    expect(await find([c], 'station')).toEqual([`${c}/1`]);
    expect(await index.position(c)).toEqual({ indexedSeq: 2, indexedChangeSeq: 5 });
    // Late: an update from before the edit. Nothing of it is applied.
    await index.apply({ ...put(c, ['harbour lights', 'harbour view']), position: { indexedSeq: 2, indexedChangeSeq: 3 } });
    expect(await find([c], 'harbour')).toEqual([]);
    expect(await index.position(c)).toEqual({ indexedSeq: 2, indexedChangeSeq: 5 });
    // The same update again changes nothing; a body with no word leaves no row.
    await index.apply({ conversationId: c, put: [{ seq: 1, createdAt: T0 + 1000, body: '?!' }], remove: [], position: { indexedSeq: 2, indexedChangeSeq: 6 } });
    expect(await find([c], 'station')).toEqual([]);
    expect(await index.position(c)).toEqual({ indexedSeq: 2, indexedChangeSeq: 6 });
  });

  it('applies atomically: a failing update leaves neither rows nor position', async () => {
    const c = conv('atomic');
    await index.apply(put(c, ['first words']));
    // A createdAt PostgreSQL cannot hold as bigint fails the insert after the position row was locked.
    const bad: IndexUpdate = { conversationId: c, put: [{ seq: 2, createdAt: 2 ** 70, body: 'second words' }], remove: [1], position: { indexedSeq: 2, indexedChangeSeq: 1 } };
    await expect(index.apply(bad)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(await find([c], 'words')).toEqual([`${c}/1`]);
    expect(await index.position(c)).toEqual({ indexedSeq: 1, indexedChangeSeq: 0 });
  });

  it('groups concurrent calls into one statement each, and a failing update in a group fails alone', async () => {
    // Counts the statements the index sends (a spy on the real driver's pool, which still runs them).
    const sent = vi.spyOn(pg.Pool.prototype, 'query');
    try {
      const ids = Array.from({ length: 30 }, () => conv('group'));
      await Promise.all(ids.map((id, i) => index.apply(put(id, [`lantern ${i}`]))));
      // The first alone, the 29 made while it ran together.
      expect(sent.mock.calls.length).toBe(2);
      expect(await Promise.all(ids.map((id) => index.position(id)))).toEqual(ids.map(() => ({ indexedSeq: 1, indexedChangeSeq: 0 })));
      expect(sent.mock.calls.length).toBe(4);
      expect((await find(ids, 'lantern', { limit: 50 })).length).toBe(30);

      const mates = Array.from({ length: 5 }, () => conv('mate'));
      const bad: IndexUpdate = { conversationId: conv('bad'), put: [{ seq: 1, createdAt: 2 ** 70, body: 'never stored' }], remove: [], position: { indexedSeq: 1, indexedChangeSeq: 0 } };
      const outcomes = await Promise.allSettled([put(mates[0]!, ['ember']), bad, ...mates.slice(1).map((id) => put(id, ['ember']))].map((u) => index.apply(u)));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(await find(mates, 'ember')).toHaveLength(5);
    } finally {
      sent.mockRestore();
    }
  });

  it('creates its tables once under concurrent opens, and refuses a schema newer than its own', async () => {
    const db = `s${Date.now()}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${db}`);
      const url = server.url.replace(/\/postgres$/, `/${db}`);
      const opened = await Promise.all([open(url), open(url), open(url)]);
      await Promise.all(opened.map((i) => i.close()));
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      await other.query("UPDATE chat_search_meta SET version = $1 WHERE key = 'schema'", [PG_SEARCH_SCHEMA_VERSION + 1]);
      await other.end();
      const err = await open(url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/schema version 2; this build understands up to 1/);
    } finally {
      await admin.end();
    }
  });

  it('names PG_URL’s host when it cannot connect at open', async () => {
    const err = await open('postgres://postgres@127.0.0.1:1/postgres').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/127\.0\.0\.1:1 \(PG_URL\)/);
    expect((err as Error).cause).toBeDefined();
  });

  it('fails with StoreUnavailableError while PostgreSQL is down (killed), and works again once it is back', async () => {
    const c = conv('k');
    await index.apply(put(c, ['before the crash']));
    await server.kill();
    await expect(index.candidates({ conversationIds: [c], terms: searchTerms('crash'), limit: 5 })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(index.apply(put(c, ['during the crash'], undefined, 2))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(index.position(c)).rejects.toBeInstanceOf(StoreUnavailableError);
    await server.start();
    await index.apply(put(c, ['after the crash'], undefined, 2));
    expect(await find([c], 'crash')).toEqual([`${c}/2`, `${c}/1`]);
  });
});
