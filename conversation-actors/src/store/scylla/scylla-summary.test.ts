import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundView } from '@chat/proto';
import { dropLiveKeyspace, liveCql, liveKeyspace, migrateLiveKeyspace } from '@chat/testkit/live-cql';
import type { ChatStore } from '../store.js';
import type { ScyllaOptions } from './scylla-config.js';
import { backfillMemberSummaries } from './scylla-backfill.js';
import { type CqlClient, createScyllaClient } from './scylla-session.js';
import { openScyllaStore } from './scylla-store.js';

// The member summary (migration 0009) of a conversation from before it: a
// bounded view reads such a conversation whole, chat migrate's backfill
// counts it, a change made by a build that does not keep the summary makes
// readers distrust the count again, and the owner's next change takes it over.
const live = liveCql('member_summary backfill on a live CQL server');

describe.skipIf(!live)('member_summary: views of conversations from before schema version 9', () => {
  const keyspace = liveKeyspace('chat_summary');
  let options: ScyllaOptions;
  let client: CqlClient;
  let whole: ChatStore;
  let bounded: ChatStore;
  const LIMIT = 3;
  const users = ['own', 'adm', 'u1', 'u2', 'u3', 'u4'];

  beforeAll(async () => {
    options = await migrateLiveKeyspace(live!, keyspace);
    client = createScyllaClient(options);
    await client.connect();
    whole = await openScyllaStore(options);
    bounded = await openScyllaStore(options, undefined, undefined, { viewMembers: LIMIT });
  }, 120_000);

  afterAll(async () => {
    await bounded?.close();
    await whole?.close();
    await client?.shutdown();
    await dropLiveKeyspace(live!, keyspace);
  }, 120_000);

  const q = async (cql: string, params: unknown[]) => (await client.execute(cql, params, { prepare: true })).rows;
  /** Every member's bounded view equals boundView of the whole one; returns the memberCount they show. */
  const expectViews = async (id: string, viewers: string[]): Promise<number | undefined> => {
    let count: number | undefined;
    for (const viewer of viewers) {
      const [full] = await whole.getConversationViews(viewer, [id]);
      const expected = boundView(full!, viewer, LIMIT);
      expect(await bounded.getConversationViews(viewer, [id]), viewer).toEqual([expected]);
      count = expected.memberCount;
    }
    return count;
  };

  it('reads a conversation without a summary whole, counts it once, distrusts the count after a change it did not see, and hands it to the owner', async () => {
    const id = `c-${Date.now()}`;
    await whole.createConversation({ id, kind: 'group', title: 't', createdAt: 1, members: users.map((userId, i) => ({ userId, role: i === 0 ? 'owner' : 'member' })) }, 1);
    await whole.applyMembershipChange({ conversationId: id, epoch: 1, add: [], remove: [], roles: [{ userId: 'adm', role: 'admin' }], changeSeq: 1 });
    // As a build of version 8 left it: no summary at all.
    await q('DELETE FROM member_summary WHERE conversation_id = ?', [id]);
    expect(await expectViews(id, users)).toBe(6);

    const first = await backfillMemberSummaries(client);
    expect(first.counted).toBeGreaterThanOrEqual(1);
    const [counted] = await q('SELECT member_count, backfill_change_seq FROM member_summary WHERE conversation_id = ?', [id]);
    expect(Number(counted!['member_count'])).toBe(6);
    expect(Number(counted!['backfill_change_seq'])).toBe(1);
    expect((await q('SELECT user_id, role FROM member_summary WHERE conversation_id = ?', [id])).map((r) => [r['user_id'], r['role']])).toEqual([
      ['adm', 'admin'],
      ['own', 'owner'],
    ]);
    expect(await expectViews(id, users)).toBe(6);
    // Nothing changed since: a second run leaves it.
    expect((await backfillMemberSummaries(client)).counted).toBe(0);

    // A host of the previous build adds a member: member rows and the head's change_seq, no summary.
    await q('INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)', [id, 'late', 'member', 2]);
    await q('INSERT INTO receipts (conversation_id, user_id, read_seq, delivered_seq) VALUES (?, ?, ?, ?)', [id, 'late', 0, 0]);
    await q('INSERT INTO user_conversations (user_id, conversation_id) VALUES (?, ?)', ['late', id]);
    expect((await q('UPDATE conversations SET epoch = ?, change_seq = ? WHERE id = ? IF epoch <= ? AND change_seq < ?', [1, 2, id, 1, 2]))[0]!['[applied]']).toBe(true);
    // The backfilled count (6) is not trusted any more: views count 7.
    expect(await expectViews(id, [...users, 'late'])).toBe(7);
    expect((await backfillMemberSummaries(client)).counted).toBeGreaterThanOrEqual(1);
    expect(await expectViews(id, [...users, 'late'])).toBe(7);

    // The owner's next change writes the summary itself, without a mark.
    await whole.applyMembershipChange({ conversationId: id, epoch: 1, add: [], remove: ['u1'], roles: [{ userId: 'adm', role: 'member' }], changeSeq: 3 });
    const [owned] = await q('SELECT member_count, backfill_change_seq FROM member_summary WHERE conversation_id = ?', [id]);
    expect(Number(owned!['member_count'])).toBe(6);
    expect(owned!['backfill_change_seq']).toBeNull();
    expect((await q('SELECT user_id FROM member_summary WHERE conversation_id = ?', [id])).map((r) => r['user_id'])).toEqual(['own']);
    expect(await expectViews(id, ['own', 'adm', 'u2', 'u3', 'u4', 'late'])).toBe(6);
  }, 120_000);
});
