import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatMessage, Conversation } from '@chat/proto';
import { BadRequestError, ConflictError, NotFoundError, SeqConflictError, StaleEpochError, StoreUnavailableError } from '../errors.js';
import type { ChatStore, ConversationRecord, MemberRecord, MembershipChange, NewConversation, Role } from './store.js';

/** What a backend hands the contract for one test. */
export interface ContractStore {
  store: ChatStore;
  /**
   * Opens a new store on the same data. Called after `store` was closed; the
   * durability tests are skipped when it is absent.
   */
  reopen?: () => Promise<ChatStore>;
  /** Removes whatever open() created. Called after every store the test used was closed. */
  cleanup: () => Promise<void>;
}

const T0 = 1_700_000_000_000;

/**
 * The shared contract every ChatStore backend must pass: each guarantee of
 * store.ts, checked through the interface only. `open` is called before every
 * test. Tests use ids with a random prefix, so a backend may share one
 * database across tests.
 */
export function runStoreContract(name: string, open: () => Promise<ContractStore>): void {
  describe(`ChatStore contract: ${name}`, () => {
    let ctx: ContractStore;
    let store: ChatStore;
    /** Every store the test opened, closed after it. */
    let opened: ChatStore[];
    /** Random per test: a prefix of ids, and a different one of names, so the two never match each other's searches. */
    let p: string;
    let np: string;

    beforeEach(async () => {
      ctx = await open();
      store = ctx.store;
      opened = [store];
      p = randomPrefix('I');
      np = randomPrefix('N');
    });

    afterEach(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      await ctx.cleanup();
    });

    const id = (suffix: string): string => `${p}${suffix}`;

    async function create(
      conversationId: string,
      members: string[],
      options: { kind?: 'dm' | 'group'; title?: string | null; createdAt?: number; epoch?: number } = {},
    ): Promise<ConversationRecord> {
      const kind = options.kind ?? 'group';
      const conversation: NewConversation = {
        id: conversationId,
        kind,
        title: options.title === undefined ? (kind === 'group' ? 'a group' : null) : options.title,
        createdAt: options.createdAt ?? T0,
        members: members.map((userId, i): { userId: string; role: Role } => ({ userId, role: i === 0 ? 'owner' : 'member' })),
      };
      const { record, created } = await store.createConversation(conversation, options.epoch ?? 1);
      expect(created).toBe(true);
      return record;
    }

    /** Appends messages from `senders` after `lastSeq`, expecting success; returns them. */
    async function append(
      conversationId: string,
      lastSeq: number,
      senders: string[],
      options: { epoch?: number; createdAt?: number } = {},
    ): Promise<ChatMessage[]> {
      const messages = senders.map((sender, i) =>
        message(conversationId, lastSeq + 1 + i, sender, options.createdAt === undefined ? {} : { createdAt: options.createdAt + i }),
      );
      const result = await store.appendMessages({ conversationId, epoch: options.epoch ?? 1, expectedLastSeq: lastSeq, messages });
      expect(result).toEqual({ kind: 'appended' });
      return messages;
    }

    async function readAll(conversationId: string): Promise<ChatMessage[]> {
      return store.readMessages(conversationId, { limit: 1000, direction: 'forward' });
    }

    describe('users', () => {
      it('upsertUser records a user and a later call updates the name', async () => {
        await store.upsertUser({ id: id('alice'), name: 'Alice' });
        expect(await store.getUsers([id('alice')])).toEqual([{ id: id('alice'), name: 'Alice' }]);
        await store.upsertUser({ id: id('alice'), name: 'Alice B.' });
        expect(await store.getUsers([id('alice')])).toEqual([{ id: id('alice'), name: 'Alice B.' }]);
      });

      it('getUsers returns the known users and leaves out unknown ids', async () => {
        await store.upsertUser({ id: id('a'), name: 'A' });
        await store.upsertUser({ id: id('b'), name: 'B' });
        await store.upsertUser({ id: id('c'), name: 'C' });
        const users = await store.getUsers([id('c'), id('nobody'), id('a')]);
        expect(byId(users)).toEqual([
          { id: id('a'), name: 'A' },
          { id: id('c'), name: 'C' },
        ]);
        expect(await store.getUsers([])).toEqual([]);
      });

      it('searchUsers matches a name prefix case-insensitively', async () => {
        await store.upsertUser({ id: id('1'), name: `${np}Alice` });
        await store.upsertUser({ id: id('2'), name: `${np}alfred` });
        await store.upsertUser({ id: id('3'), name: `${np}Bob` });
        const found = await store.searchUsers(`${np}AL`.toLowerCase(), 10);
        expect(byId(found).map((u) => u.id)).toEqual([id('1'), id('2')]);
        expect(await store.searchUsers(`${np}AL`.toUpperCase(), 10)).toHaveLength(2);
        expect(await store.searchUsers(`${np}x`, 10)).toEqual([]);
        // A prefix, not a substring.
        expect(await store.searchUsers('lice', 10)).not.toContainEqual({ id: id('1'), name: `${np}Alice` });
      });

      it('searchUsers matches an id prefix case-insensitively', async () => {
        await store.upsertUser({ id: id('Xy1'), name: `${np}one` });
        await store.upsertUser({ id: id('xY2'), name: `${np}two` });
        await store.upsertUser({ id: id('z3'), name: `${np}three` });
        const found = await store.searchUsers(id('XY').toLowerCase(), 10);
        expect(byId(found).map((u) => u.id)).toEqual([id('Xy1'), id('xY2')]);
        expect(await store.searchUsers(p.toUpperCase(), 10)).toHaveLength(3);
      });

      it('searchUsers orders by name then id and honours the limit', async () => {
        await store.upsertUser({ id: id('9'), name: `${np}c` });
        await store.upsertUser({ id: id('5'), name: `${np}a` });
        await store.upsertUser({ id: id('2'), name: `${np}b` });
        await store.upsertUser({ id: id('1'), name: `${np}a` });
        const all = await store.searchUsers(np, 10);
        expect(all.map((u) => u.id)).toEqual([id('1'), id('5'), id('2'), id('9')]);
        expect((await store.searchUsers(np, 2)).map((u) => u.id)).toEqual([id('1'), id('5')]);
        expect(await store.searchUsers(np, 1)).toEqual([{ id: id('1'), name: `${np}a` }]);
      });

      it('searchUsers treats LIKE wildcards literally', async () => {
        await store.upsertUser({ id: id('1'), name: `${np}_x` });
        await store.upsertUser({ id: id('2'), name: `${np}ax` });
        await store.upsertUser({ id: id('3'), name: `${np}%y` });
        expect((await store.searchUsers(`${np}_`, 10)).map((u) => u.id)).toEqual([id('1')]);
        expect((await store.searchUsers(`${np}%`, 10)).map((u) => u.id)).toEqual([id('3')]);
        expect(await store.searchUsers(`${np}%x`, 10)).toEqual([]);
      });

      it('searchUsers finds a renamed user by the new name only', async () => {
        await store.upsertUser({ id: id('1'), name: `${np}old` });
        await store.upsertUser({ id: id('1'), name: `${np}new` });
        expect(await store.searchUsers(`${np}old`, 10)).toEqual([]);
        expect(await store.searchUsers(`${np}new`, 10)).toEqual([{ id: id('1'), name: `${np}new` }]);
      });
    });

    describe('conversations', () => {
      it('loadConversation returns null for an unknown conversation', async () => {
        expect(await store.loadConversation(id('nope'))).toBeNull();
      });

      it('createConversation stores the head and the members', async () => {
        const record = await create(id('c'), [id('alice'), id('bob')], { title: 'Trip', createdAt: T0 + 5, epoch: 3 });
        const expected: ConversationRecord = {
          id: id('c'),
          kind: 'group',
          title: 'Trip',
          createdAt: T0 + 5,
          lastSeq: 0,
          lastActivityAt: T0 + 5,
          epoch: 3,
          members: [
            { userId: id('alice'), role: 'owner', joinedAt: T0 + 5, readSeq: 0, deliveredSeq: 0 },
            { userId: id('bob'), role: 'member', joinedAt: T0 + 5, readSeq: 0, deliveredSeq: 0 },
          ],
        };
        expect(sortMembers(record)).toEqual(expected);
        expect(sortMembers(await store.loadConversation(id('c')))).toEqual(expected);
      });

      it('a DM has a null title', async () => {
        const record = await create(id('dm'), [id('alice'), id('bob')], { kind: 'dm' });
        expect(record.kind).toBe('dm');
        expect(record.title).toBeNull();
        expect((await store.loadConversation(id('dm')))?.title).toBeNull();
      });

      it('createConversation of an existing id writes nothing and returns the original', async () => {
        const original = await create(id('c'), [id('alice'), id('bob')], { title: 'First', epoch: 2 });
        const again = await store.createConversation(
          { id: id('c'), kind: 'dm', title: null, createdAt: T0 + 99, members: [{ userId: id('carol'), role: 'owner' }] },
          9,
        );
        expect(again.created).toBe(false);
        expect(sortMembers(again.record)).toEqual(sortMembers(original));
        expect(sortMembers(await store.loadConversation(id('c')))).toEqual(sortMembers(original));
      });

      it('two concurrent creates of one id converge on one conversation', async () => {
        const make = (owner: string): NewConversation => ({
          id: id('dm'),
          kind: 'dm',
          title: null,
          createdAt: T0,
          members: [
            { userId: owner, role: 'owner' },
            { userId: owner === id('alice') ? id('bob') : id('alice'), role: 'member' },
          ],
        });
        const [a, b] = await Promise.all([
          store.createConversation(make(id('alice')), 1),
          store.createConversation(make(id('bob')), 1),
        ]);
        expect([a.created, b.created].filter(Boolean)).toHaveLength(1);
        expect(sortMembers(a.record)).toEqual(sortMembers(b.record));
        expect(sortMembers(await store.loadConversation(id('dm')))).toEqual(sortMembers(a.record));
      });
    });

    describe('appendMessages', () => {
      it('appends one message and moves the head to it', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const m = message(id('c'), 1, id('alice'), { createdAt: T0 + 1234 });
        expect(await store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [m] })).toEqual({
          kind: 'appended',
        });
        const head = await store.loadConversation(id('c'));
        expect(head).toMatchObject({ lastSeq: 1, lastActivityAt: T0 + 1234, epoch: 1 });
        expect(await readAll(id('c'))).toEqual([m]);
      });

      it('batches keep the sequence gapless', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const sent = [
          ...(await append(id('c'), 0, [id('alice')])),
          ...(await append(id('c'), 1, [id('bob'), id('alice'), id('bob'), id('alice'), id('bob')])),
          ...(await append(id('c'), 6, [id('alice'), id('alice')])),
        ];
        const stored = await readAll(id('c'));
        expect(stored.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        expect(stored).toEqual(sent);
        const head = await store.loadConversation(id('c'));
        expect(head?.lastSeq).toBe(8);
        expect(head?.lastActivityAt).toBe(sent[7]?.createdAt);
      });

      it('stores every field of a message as given', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const m = message(id('c'), 1, id('alice'), {
          body: 'héllo 👋 "quoted" \\ back\nslash',
          attachments: [
            { name: 'cat.png', mediaType: 'image/png', size: 1234, url: 'https://files.example/cat.png', width: 640, height: 480 },
            { name: 'notes.txt', mediaType: 'text/plain', size: 12, url: 'https://files.example/notes.txt' },
          ],
          editedAt: T0 + 50_000,
          reactions: { '👍': { ids: [id('bob')] }, '🎉': { ids: [id('alice'), id('bob')] } },
        });
        await store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [m] });
        expect(await readAll(id('c'))).toEqual([m]);
      });

      it('refuses an append whose expectedLastSeq is not the stored lastSeq, writing nothing', async () => {
        await create(id('c'), [id('alice')]);
        const [first] = await append(id('c'), 0, [id('alice')]);

        const behind = await rejection(
          store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [message(id('c'), 1, id('alice'), { clientMsgId: 'x1' })] }),
        );
        expect(behind).toBeInstanceOf(SeqConflictError);
        expect(behind).toMatchObject({ conversationId: id('c'), expectedLastSeq: 0, actualLastSeq: 1 });

        const ahead = await rejection(
          store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 3, messages: [message(id('c'), 4, id('alice'), { clientMsgId: 'x4' })] }),
        );
        expect(ahead).toBeInstanceOf(SeqConflictError);
        expect(ahead).toMatchObject({ expectedLastSeq: 3, actualLastSeq: 1 });

        expect((await store.loadConversation(id('c')))?.lastSeq).toBe(1);
        expect(await readAll(id('c'))).toEqual([first]);
      });

      it('refuses an append to an unknown conversation with NotFoundError', async () => {
        const err = await rejection(
          store.appendMessages({ conversationId: id('ghost'), epoch: 1, expectedLastSeq: 0, messages: [message(id('ghost'), 1, id('alice'))] }),
        );
        expect(err).toBeInstanceOf(NotFoundError);
        expect(await store.loadConversation(id('ghost'))).toBeNull();
      });

      it('fences writers by epoch: a lower epoch is refused, a higher one is accepted and fences the old', async () => {
        await create(id('c'), [id('alice')], { epoch: 5 });

        const low = await rejection(
          store.appendMessages({ conversationId: id('c'), epoch: 4, expectedLastSeq: 0, messages: [message(id('c'), 1, id('alice'))] }),
        );
        expect(low).toBeInstanceOf(StaleEpochError);
        expect(low).toMatchObject({ conversationId: id('c'), epoch: 4, recordedEpoch: 5 });
        expect(await readAll(id('c'))).toEqual([]);
        expect(await store.loadConversation(id('c'))).toMatchObject({ lastSeq: 0, epoch: 5 });

        await append(id('c'), 0, [id('alice')], { epoch: 5 });
        await append(id('c'), 1, [id('alice')], { epoch: 7 });
        expect(await store.loadConversation(id('c'))).toMatchObject({ lastSeq: 2, epoch: 7 });

        const fenced = await rejection(
          store.appendMessages({ conversationId: id('c'), epoch: 5, expectedLastSeq: 2, messages: [message(id('c'), 3, id('alice'))] }),
        );
        expect(fenced).toBeInstanceOf(StaleEpochError);
        expect(fenced).toMatchObject({ epoch: 5, recordedEpoch: 7 });
        expect((await readAll(id('c'))).map((m) => m.seq)).toEqual([1, 2]);

        await append(id('c'), 2, [id('alice')], { epoch: 7 });
        expect(await store.loadConversation(id('c'))).toMatchObject({ lastSeq: 3, epoch: 7 });
      });

      it('a batch holding a stored clientMsgId writes nothing and returns the originals', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const [original] = await append(id('c'), 0, [id('alice')]);
        if (!original) throw new Error('unreachable');

        const fresh = message(id('c'), 2, id('bob'), { clientMsgId: 'fresh' });
        const retry = message(id('c'), 3, id('alice'), { clientMsgId: original.clientMsgId, body: 'a retry', id: 'other-id' });
        const result = await store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 1, messages: [fresh, retry] });
        expect(result).toEqual({ kind: 'duplicates', existing: [original] });

        // Nothing of the batch was written, not even its fresh message.
        expect((await store.loadConversation(id('c')))?.lastSeq).toBe(1);
        expect(await readAll(id('c'))).toEqual([original]);
        expect(await store.findByClientMsgIds(id('c'), [{ senderId: id('bob'), clientMsgId: 'fresh' }])).toEqual([]);

        // The caller re-sequences the rest.
        const resequenced = { ...fresh, seq: 2 };
        expect(await store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 1, messages: [resequenced] })).toEqual({
          kind: 'appended',
        });
        expect(await readAll(id('c'))).toEqual([original, resequenced]);
      });

      it('returns every stored original of a batch of duplicates', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const originals = await append(id('c'), 0, [id('alice'), id('bob'), id('alice')]);
        const retries = originals.map((m, i) => ({ ...m, seq: 4 + i, id: `retry-${i}` }));
        const result = await store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 3, messages: retries });
        expect(result.kind).toBe('duplicates');
        if (result.kind !== 'duplicates') return;
        expect(bySeq(result.existing)).toEqual(originals);
        expect((await store.loadConversation(id('c')))?.lastSeq).toBe(3);
      });

      it('a clientMsgId is unique per sender and conversation only', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        await create(id('d'), [id('alice')]);
        const a = message(id('c'), 1, id('alice'), { clientMsgId: 'same' });
        const b = message(id('c'), 2, id('bob'), { clientMsgId: 'same' });
        const other = message(id('d'), 1, id('alice'), { clientMsgId: 'same' });
        expect(await store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [a] })).toEqual({ kind: 'appended' });
        expect(await store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 1, messages: [b] })).toEqual({ kind: 'appended' });
        expect(await store.appendMessages({ conversationId: id('d'), epoch: 1, expectedLastSeq: 0, messages: [other] })).toEqual({ kind: 'appended' });
        expect(await readAll(id('c'))).toEqual([a, b]);
        expect(await readAll(id('d'))).toEqual([other]);
      });
    });

    describe('findByClientMsgIds', () => {
      it('returns the stored messages matching any key, in this conversation only', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        await create(id('d'), [id('alice')]);
        const [m1, m2, m3] = await append(id('c'), 0, [id('alice'), id('bob'), id('alice')]);
        const [d1] = await append(id('d'), 0, [id('alice')]);
        if (!m1 || !m2 || !m3 || !d1) throw new Error('unreachable');

        const found = await store.findByClientMsgIds(id('c'), [
          { senderId: id('alice'), clientMsgId: m3.clientMsgId },
          { senderId: id('bob'), clientMsgId: m2.clientMsgId },
          { senderId: id('alice'), clientMsgId: 'never-sent' },
          // m2's clientMsgId from the wrong sender matches nothing.
          { senderId: id('alice'), clientMsgId: m2.clientMsgId },
        ]);
        expect(bySeq(found)).toEqual([m2, m3]);
        expect(await store.findByClientMsgIds(id('c'), [])).toEqual([]);
        // d1 has m1's key in another conversation: only this conversation's message comes back.
        expect(d1.clientMsgId).toBe(m1.clientMsgId);
        expect(await store.findByClientMsgIds(id('c'), [{ senderId: id('alice'), clientMsgId: d1.clientMsgId }])).toEqual([m1]);
        expect(await store.findByClientMsgIds(id('d'), [{ senderId: id('alice'), clientMsgId: m1.clientMsgId }])).toEqual([d1]);
        expect(await store.findByClientMsgIds(id('ghost'), [{ senderId: id('alice'), clientMsgId: m1.clientMsgId }])).toEqual([]);
      });
    });

    describe('readMessages', () => {
      it('reads forward and backward with every combination of bounds and limits', async () => {
        await create(id('c'), [id('alice')]);
        await append(id('c'), 0, Array.from({ length: 10 }, () => id('alice')));
        const cases: { after?: number; before?: number; limit: number; direction: 'forward' | 'backward'; seqs: number[] }[] = [
          { limit: 3, direction: 'forward', seqs: [1, 2, 3] },
          { limit: 3, direction: 'backward', seqs: [8, 9, 10] },
          { limit: 50, direction: 'forward', seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
          { limit: 50, direction: 'backward', seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
          { after: 4, limit: 3, direction: 'forward', seqs: [5, 6, 7] },
          { after: 4, limit: 3, direction: 'backward', seqs: [8, 9, 10] },
          { after: 8, limit: 5, direction: 'forward', seqs: [9, 10] },
          { before: 5, limit: 10, direction: 'forward', seqs: [1, 2, 3, 4] },
          { before: 5, limit: 2, direction: 'forward', seqs: [1, 2] },
          { before: 5, limit: 2, direction: 'backward', seqs: [3, 4] },
          { after: 2, before: 6, limit: 10, direction: 'forward', seqs: [3, 4, 5] },
          { after: 2, before: 6, limit: 10, direction: 'backward', seqs: [3, 4, 5] },
          { after: 2, before: 6, limit: 2, direction: 'forward', seqs: [3, 4] },
          { after: 2, before: 6, limit: 2, direction: 'backward', seqs: [4, 5] },
          { after: 0, limit: 1, direction: 'forward', seqs: [1] },
          { before: 11, limit: 1, direction: 'backward', seqs: [10] },
          { after: 10, limit: 5, direction: 'forward', seqs: [] },
          { before: 1, limit: 5, direction: 'backward', seqs: [] },
          { after: 5, before: 6, limit: 5, direction: 'forward', seqs: [] },
          { after: 6, before: 5, limit: 5, direction: 'backward', seqs: [] },
        ];
        for (const { seqs, ...query } of cases) {
          const got = await store.readMessages(id('c'), query);
          expect(got.map((m) => m.seq), JSON.stringify(query)).toEqual(seqs);
        }
      });

      it('returns nothing for an unknown conversation', async () => {
        expect(await store.readMessages(id('ghost'), { limit: 10, direction: 'forward' })).toEqual([]);
        expect(await store.readMessages(id('ghost'), { limit: 10, direction: 'backward' })).toEqual([]);
      });
    });

    describe('listUserConversations', () => {
      /** Seven conversations of alice's (two pairs tie on activity) and one she is not in; most recent first. */
      async function seed(): Promise<string[]> {
        await create(id('c1'), [id('alice')], { createdAt: T0 + 10 });
        await create(id('c2'), [id('alice'), id('bob')], { createdAt: T0 + 30 });
        await create(id('c3'), [id('bob'), id('alice')], { createdAt: T0 + 30 });
        await create(id('c4'), [id('alice')], { createdAt: T0 + 5 });
        await create(id('c5'), [id('alice')], { createdAt: T0 + 20 });
        await create(id('c6'), [id('alice')], { createdAt: T0 + 20 });
        await create(id('c7'), [id('alice')], { createdAt: T0 + 1 });
        await create(id('x'), [id('bob')], { createdAt: T0 + 1000 });
        // A message moves c4 to the top; c7 gets one that is still older than the rest.
        await append(id('c4'), 0, [id('bob')], { createdAt: T0 + 500 });
        await append(id('c7'), 0, [id('bob')], { createdAt: T0 + 2 });
        return [id('c4'), id('c3'), id('c2'), id('c6'), id('c5'), id('c1'), id('c7')];
      }

      it('lists most recent activity first, ties by id, members only', async () => {
        const expected = await seed();
        const page = await store.listUserConversations(id('alice'), { limit: 50 });
        expect(page.conversations.map((c) => c.id)).toEqual(expected);
        expect(page.next).toBeNull();
      });

      it('pages through everything with no repeat and no gap', async () => {
        const expected = await seed();
        for (const limit of [1, 2, 3, 6, 7, 8]) {
          const seen: string[] = [];
          let before: string | undefined;
          let pages = 0;
          for (;;) {
            const page = await store.listUserConversations(id('alice'), { limit, before });
            pages++;
            expect(page.conversations.length, `limit ${limit}`).toBeLessThanOrEqual(limit);
            seen.push(...page.conversations.map((c) => c.id));
            if (page.next === null) break;
            expect(page.conversations, `limit ${limit}: a page with a next is full`).toHaveLength(limit);
            before = page.next;
            expect(pages, 'paging does not end').toBeLessThan(20);
          }
          expect(seen, `limit ${limit}`).toEqual(expected);
          // The page holding the last conversation says there is no next one.
          expect(pages, `limit ${limit}`).toBe(Math.ceil(expected.length / limit));
        }
      });

      it('returns an empty page for a user in no conversation', async () => {
        await seed();
        expect(await store.listUserConversations(id('nobody'), { limit: 10 })).toEqual({ conversations: [], next: null });
      });

      it('shows each conversation as the user sees it', async () => {
        await seed();
        const page = await store.listUserConversations(id('alice'), { limit: 1 });
        const [top] = page.conversations;
        expect(top).toMatchObject({ id: id('c4'), lastSeq: 1, readSeq: 0, deliveredSeq: 0, unread: 1 });
        expect(top?.lastMessage).toMatchObject({ conversationId: id('c4'), seq: 1, senderId: id('bob') });
      });

      it('refuses a malformed cursor with BadRequestError', async () => {
        await seed();
        const b64 = (s: string): string => Buffer.from(s).toString('base64url');
        for (const before of ['not a cursor', '!!!', b64('hello'), b64('{"a":1}'), b64('[1]'), b64('["x","y"]')]) {
          const err = await rejection(store.listUserConversations(id('alice'), { limit: 2, before }));
          expect(err, before).toBeInstanceOf(BadRequestError);
        }
      });
    });

    describe('userConversationHeads', () => {
      it('lists every conversation of the user with its lastSeq', async () => {
        await create(id('c1'), [id('alice'), id('bob')]);
        await create(id('c2'), [id('alice')]);
        await create(id('c3'), [id('bob')]);
        await append(id('c1'), 0, [id('alice'), id('bob'), id('alice')]);
        await append(id('c3'), 0, [id('bob')]);
        const heads = await store.userConversationHeads(id('alice'));
        expect([...heads].sort((a, b) => a.conversationId.localeCompare(b.conversationId))).toEqual([
          { conversationId: id('c1'), lastSeq: 3 },
          { conversationId: id('c2'), lastSeq: 0 },
        ]);
        expect(await store.userConversationHeads(id('nobody'))).toEqual([]);
      });
    });

    describe('userContacts', () => {
      it('lists each user sharing a conversation with the user once, the user left out', async () => {
        await create(id('c1'), [id('alice'), id('bob'), id('carol')]);
        await create(id('c2'), [id('alice'), id('bob')], { kind: 'dm', title: null });
        await create(id('c3'), [id('alice')]);
        await create(id('c4'), [id('dave'), id('erin')]);
        expect([...(await store.userContacts(id('alice'), 100))].sort()).toEqual([id('bob'), id('carol')]);
        expect([...(await store.userContacts(id('carol'), 100))].sort()).toEqual([id('alice'), id('bob')]);
        expect(await store.userContacts(id('dave'), 100)).toEqual([id('erin')]);
        expect(await store.userContacts(id('nobody'), 100)).toEqual([]);
      });

      it('returns at most `limit` users and refuses a limit below 1', async () => {
        await create(id('c1'), [id('alice'), id('u1'), id('u2'), id('u3')]);
        await create(id('c2'), [id('alice'), id('u3'), id('u4')]);
        const some = await store.userContacts(id('alice'), 2);
        expect(some).toHaveLength(2);
        expect(new Set(some).size).toBe(2);
        for (const u of some) expect([id('u1'), id('u2'), id('u3'), id('u4')]).toContain(u);
        expect(await store.userContacts(id('alice'), 10)).toHaveLength(4);
        expect(await rejection(store.userContacts(id('alice'), 0))).toBeInstanceOf(BadRequestError);
      });
    });

    describe('getConversationViews', () => {
      it('shows members, lastMessage and an unread count that leaves out the own messages', async () => {
        await create(id('c'), [id('alice'), id('bob'), id('carol')], { title: 'Team', createdAt: T0 });
        const sent = await append(id('c'), 0, [id('alice'), id('bob'), id('alice'), id('bob'), id('bob')]);
        const views = await store.getConversationViews(id('alice'), [id('c')]);
        const expected: Conversation = {
          id: id('c'),
          kind: 'group',
          title: 'Team',
          members: [
            { userId: id('alice'), role: 'owner' },
            { userId: id('bob'), role: 'member' },
            { userId: id('carol'), role: 'member' },
          ],
          createdAt: T0,
          lastSeq: 5,
          lastMessage: sent[4],
          readSeq: 0,
          deliveredSeq: 0,
          unread: 3,
        };
        expect(views.map(sortViewMembers)).toEqual([expected]);
        const [bobs] = await store.getConversationViews(id('bob'), [id('c')]);
        expect(bobs?.unread).toBe(2);
        const [carols] = await store.getConversationViews(id('carol'), [id('c')]);
        expect(carols?.unread).toBe(5);
      });

      it('shows a conversation without messages with lastSeq 0 and no lastMessage', async () => {
        await create(id('dm'), [id('alice'), id('bob')], { kind: 'dm' });
        const [view] = await store.getConversationViews(id('bob'), [id('dm')]);
        expect(view).toMatchObject({ id: id('dm'), kind: 'dm', lastSeq: 0, unread: 0, readSeq: 0, deliveredSeq: 0 });
        expect(view?.lastMessage ?? null).toBeNull();
        expect(view?.title ?? null).toBeNull();
      });

      it('leaves out conversations the user is not a member of, and unknown ones', async () => {
        await create(id('mine'), [id('alice'), id('bob')]);
        await create(id('theirs'), [id('bob'), id('carol')]);
        await create(id('also-mine'), [id('carol'), id('alice')]);
        const views = await store.getConversationViews(id('alice'), [id('mine'), id('theirs'), id('ghost'), id('also-mine')]);
        expect(views.map((v) => v.id).sort()).toEqual([id('also-mine'), id('mine')].sort());
        expect(await store.getConversationViews(id('alice'), [])).toEqual([]);
      });
    });

    describe('updateMessage', () => {
      const photo = { name: 'cat.png', mediaType: 'image/png', size: 1234, url: 'https://files.example/cat.png' };

      it('persists an edit: new body and editedAt, the rest unchanged', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const [first, second] = await append(id('c'), 0, [id('alice'), id('bob')]);
        const edited = { ...(first as ChatMessage), body: 'edited ✏️', editedAt: T0 + 99_000 };
        await store.updateMessage({ epoch: 1, message: edited });
        expect(await readAll(id('c'))).toEqual([edited, second]);
        // Not a new message: the head and its activity time stay.
        expect(await store.loadConversation(id('c'))).toMatchObject({ lastSeq: 2, lastActivityAt: second?.createdAt });
      });

      it('persists reactions, and an emoji with no users left is gone', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const [m] = await append(id('c'), 0, [id('alice')]);
        const reacted = { ...(m as ChatMessage), reactions: { '👍': { ids: [id('alice'), id('bob')] }, '👨‍👩‍👧': { ids: [id('bob')] } } };
        await store.updateMessage({ epoch: 1, message: reacted });
        expect(await readAll(id('c'))).toEqual([reacted]);
        const fewer = { ...(m as ChatMessage), reactions: { '👍': { ids: [id('bob')] } } };
        await store.updateMessage({ epoch: 1, message: fewer });
        expect(await readAll(id('c'))).toEqual([fewer]);
      });

      it('serves a deleted message with its seq, an empty body, no attachments and no reactions from every read', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const m = message(id('c'), 1, id('alice'), { attachments: [photo], reactions: { '👍': { ids: [id('bob')] } } });
        await store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [m] });
        // Given a body and reactions anyway, the store keeps none of them.
        await store.updateMessage({ epoch: 1, message: { ...m, deleted: true } });
        const deleted: ChatMessage = { ...m, body: '', attachments: [], reactions: {}, deleted: true };
        expect(await readAll(id('c'))).toEqual([deleted]);
        expect(await store.readMessages(id('c'), { limit: 1, direction: 'backward' })).toEqual([deleted]);
        expect(await store.findByClientMsgIds(id('c'), [{ senderId: id('alice'), clientMsgId: m.clientMsgId }])).toEqual([deleted]);
        const [view] = await store.getConversationViews(id('bob'), [id('c')]);
        expect(view?.lastMessage).toEqual(deleted);
        const page = await store.listUserConversations(id('bob'), { limit: 10 });
        expect(page.conversations[0]?.lastMessage).toEqual(deleted);
        // Deleting again is harmless; undeleting is refused and writes nothing.
        await store.updateMessage({ epoch: 1, message: deleted });
        expect(await rejection(store.updateMessage({ epoch: 1, message: m }))).toBeInstanceOf(ConflictError);
        expect(await readAll(id('c'))).toEqual([deleted]);
      });

      it('refuses an unknown seq or conversation with NotFoundError, writing nothing', async () => {
        await create(id('c'), [id('alice')]);
        const [m] = await append(id('c'), 0, [id('alice')]);
        expect(await rejection(store.updateMessage({ epoch: 1, message: message(id('c'), 2, id('alice')) }))).toBeInstanceOf(NotFoundError);
        expect(await rejection(store.updateMessage({ epoch: 1, message: message(id('ghost'), 1, id('alice')) }))).toBeInstanceOf(NotFoundError);
        expect(await readAll(id('c'))).toEqual([m]);
        expect(await store.loadConversation(id('ghost'))).toBeNull();
      });

      it('fences by epoch: a lower epoch is refused, a higher one is recorded and fences appends of the old', async () => {
        await create(id('c'), [id('alice')], { epoch: 5 });
        const [m] = await append(id('c'), 0, [id('alice')], { epoch: 5 });
        const original = m as ChatMessage;

        const low = await rejection(store.updateMessage({ epoch: 4, message: { ...original, body: 'stale' } }));
        expect(low).toBeInstanceOf(StaleEpochError);
        expect(low).toMatchObject({ conversationId: id('c'), epoch: 4, recordedEpoch: 5 });
        expect(await readAll(id('c'))).toEqual([original]);

        const edited = { ...original, body: 'by the new owner', editedAt: T0 + 1 };
        await store.updateMessage({ epoch: 8, message: edited });
        expect(await store.loadConversation(id('c'))).toMatchObject({ lastSeq: 1, epoch: 8 });
        const fenced = await rejection(
          store.appendMessages({ conversationId: id('c'), epoch: 5, expectedLastSeq: 1, messages: [message(id('c'), 2, id('alice'))] }),
        );
        expect(fenced).toBeInstanceOf(StaleEpochError);
        expect(await rejection(store.updateMessage({ epoch: 5, message: { ...original, deleted: true } }))).toBeInstanceOf(StaleEpochError);
        expect(await readAll(id('c'))).toEqual([edited]);
      });

      it('keeps updates across close and reopen', async ({ skip }) => {
        if (!ctx.reopen) {
          skip('this backend has no reopen');
          return;
        }
        await create(id('c'), [id('alice'), id('bob')]);
        const [a, b] = await append(id('c'), 0, [id('alice'), id('bob')]);
        const edited = { ...(a as ChatMessage), body: 'after', editedAt: T0 + 7, reactions: { '🎉': { ids: [id('bob')] } } };
        const deleted: ChatMessage = { ...(b as ChatMessage), body: '', deleted: true };
        await store.updateMessage({ epoch: 1, message: edited });
        await store.updateMessage({ epoch: 1, message: deleted });
        await store.close();
        store = await ctx.reopen();
        opened.push(store);
        expect(await readAll(id('c'))).toEqual([edited, deleted]);
      });
    });

    describe('markReceipt', () => {
      const mark = (userId: string, marks: { deliveredSeq?: number; readSeq?: number }, epoch = 1) =>
        store.markReceipt({ conversationId: id('c'), userId: id(userId), epoch, ...marks });

      it('moves marks forward only: a lower or absent value leaves a mark, and the current marks come back', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        await append(id('c'), 0, [id('bob'), id('bob'), id('bob'), id('bob'), id('bob')]);
        expect(await mark('alice', { deliveredSeq: 3 })).toEqual({ deliveredSeq: 3, readSeq: 0 });
        expect(await mark('alice', { deliveredSeq: 2 })).toEqual({ deliveredSeq: 3, readSeq: 0 });
        expect(await mark('alice', { readSeq: 2 })).toEqual({ deliveredSeq: 3, readSeq: 2 });
        expect(await mark('alice', { deliveredSeq: 1, readSeq: 1 })).toEqual({ deliveredSeq: 3, readSeq: 2 });
        expect(await mark('alice', { deliveredSeq: 5, readSeq: 2 })).toEqual({ deliveredSeq: 5, readSeq: 2 });
        // Applying the same mark twice is harmless.
        expect(await mark('alice', { deliveredSeq: 5, readSeq: 2 })).toEqual({ deliveredSeq: 5, readSeq: 2 });
        // Only alice's marks moved.
        const record = await store.loadConversation(id('c'));
        expect(record?.members.find((m) => m.userId === id('alice'))).toMatchObject({ deliveredSeq: 5, readSeq: 2 });
        expect(record?.members.find((m) => m.userId === id('bob'))).toMatchObject({ deliveredSeq: 0, readSeq: 0 });
      });

      it('raises deliveredSeq to readSeq and caps both at lastSeq', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        await append(id('c'), 0, [id('bob'), id('bob'), id('bob')]);
        expect(await mark('alice', { readSeq: 2 })).toEqual({ deliveredSeq: 2, readSeq: 2 });
        expect(await mark('alice', { deliveredSeq: 1, readSeq: 3 })).toEqual({ deliveredSeq: 3, readSeq: 3 });
        expect(await mark('bob', { deliveredSeq: 99, readSeq: 50 })).toEqual({ deliveredSeq: 3, readSeq: 3 });
        expect(await store.loadConversation(id('c'))).toMatchObject({ lastSeq: 3 });
      });

      it('shows the marks in views, with unread after readSeq leaving out own and deleted messages', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        const sent = await append(id('c'), 0, [id('bob'), id('alice'), id('bob'), id('bob'), id('bob')]);
        const view = async () => (await store.getConversationViews(id('alice'), [id('c')]))[0];
        expect(await view()).toMatchObject({ readSeq: 0, deliveredSeq: 0, unread: 4 });
        await mark('alice', { readSeq: 3 });
        expect(await view()).toMatchObject({ readSeq: 3, deliveredSeq: 3, unread: 2 });
        // A deleted message is not unread: nothing of it is left to read.
        await store.updateMessage({ epoch: 1, message: { ...(sent[3] as ChatMessage), deleted: true } });
        expect(await view()).toMatchObject({ readSeq: 3, unread: 1 });
        const page = await store.listUserConversations(id('alice'), { limit: 10 });
        expect(page.conversations[0]).toMatchObject({ id: id('c'), readSeq: 3, deliveredSeq: 3, unread: 1 });
        await mark('alice', { readSeq: 5 });
        expect(await view()).toMatchObject({ readSeq: 5, deliveredSeq: 5, unread: 0 });
        // bob's own messages never count for him; alice's one does.
        const [bobs] = await store.getConversationViews(id('bob'), [id('c')]);
        expect(bobs).toMatchObject({ readSeq: 0, unread: 1 });
      });

      it('refuses a user who is not a member, or an unknown conversation, with NotFoundError, writing nothing', async () => {
        await create(id('c'), [id('alice')]);
        await append(id('c'), 0, [id('alice')]);
        expect(await rejection(mark('mallory', { readSeq: 1 }))).toBeInstanceOf(NotFoundError);
        const ghost = store.markReceipt({ conversationId: id('ghost'), userId: id('alice'), epoch: 1, readSeq: 1 });
        expect(await rejection(ghost)).toBeInstanceOf(NotFoundError);
        expect((await store.loadConversation(id('c')))?.members).toHaveLength(1);
        expect(await store.loadConversation(id('ghost'))).toBeNull();
      });

      it('fences by epoch: a lower epoch is refused and writes nothing, a higher one is accepted', async () => {
        await create(id('c'), [id('alice'), id('bob')], { epoch: 5 });
        await append(id('c'), 0, [id('bob'), id('bob')], { epoch: 5 });
        const low = await rejection(mark('alice', { readSeq: 1 }, 4));
        expect(low).toBeInstanceOf(StaleEpochError);
        expect(low).toMatchObject({ conversationId: id('c'), epoch: 4, recordedEpoch: 5 });
        expect((await store.getConversationViews(id('alice'), [id('c')]))[0]).toMatchObject({ readSeq: 0, deliveredSeq: 0 });
        expect(await mark('alice', { readSeq: 1 }, 5)).toEqual({ deliveredSeq: 1, readSeq: 1 });
        expect(await mark('alice', { readSeq: 2 }, 9)).toEqual({ deliveredSeq: 2, readSeq: 2 });
      });

      it('keeps marks across close and reopen', async ({ skip }) => {
        if (!ctx.reopen) {
          skip('this backend has no reopen');
          return;
        }
        await create(id('c'), [id('alice'), id('bob')]);
        await append(id('c'), 0, [id('bob'), id('bob'), id('bob')]);
        await mark('alice', { deliveredSeq: 3, readSeq: 1 });
        await store.close();
        store = await ctx.reopen();
        opened.push(store);
        expect((await store.getConversationViews(id('alice'), [id('c')]))[0]).toMatchObject({ deliveredSeq: 3, readSeq: 1, unread: 2 });
      });
    });

    describe('applyMembershipChange', () => {
      const change = (fields: Partial<MembershipChange>): MembershipChange => ({
        conversationId: id('c'),
        epoch: 1,
        add: [],
        remove: [],
        roles: [],
        ...fields,
      });
      const joined = (userId: string, fields: Partial<MemberRecord> = {}): MemberRecord => ({
        userId: id(userId),
        role: 'member',
        joinedAt: T0 + 50_000,
        readSeq: 0,
        deliveredSeq: 0,
        ...fields,
      });
      const memberIds = async () => ((await store.loadConversation(id('c')))?.members ?? []).map((m) => m.userId).sort();

      it('adds members as given; one already a member is left as it is', async () => {
        await create(id('c'), [id('alice'), id('bob')]);
        await append(id('c'), 0, [id('alice'), id('bob')]);
        await store.applyMembershipChange(
          change({ add: [joined('carol', { readSeq: 2, deliveredSeq: 2 }), joined('bob', { role: 'admin', joinedAt: T0 + 1 })] }),
        );
        const record = await store.loadConversation(id('c'));
        expect(record?.members.find((m) => m.userId === id('carol'))).toEqual(joined('carol', { readSeq: 2, deliveredSeq: 2 }));
        expect(record?.members.find((m) => m.userId === id('bob'))).toEqual({ userId: id('bob'), role: 'member', joinedAt: T0, readSeq: 0, deliveredSeq: 0 });
        const [view] = await store.getConversationViews(id('carol'), [id('c')]);
        expect(view).toMatchObject({ id: id('c'), lastSeq: 2, readSeq: 2, unread: 0 });
        expect(view?.members.map((m) => m.userId).sort()).toEqual([id('alice'), id('bob'), id('carol')]);
        expect((await store.listUserConversations(id('carol'), { limit: 10 })).conversations.map((c) => c.id)).toEqual([id('c')]);
        // Not a message: the activity time stays.
        expect(record).toMatchObject({ lastSeq: 2, lastActivityAt: T0 + 2000 });
      });

      it('removes members: no view, list, heads or record shows the conversation to them any more', async () => {
        await create(id('c'), [id('alice'), id('bob'), id('carol')]);
        await append(id('c'), 0, [id('bob')]);
        await store.applyMembershipChange(change({ remove: [id('bob'), id('nobody')] }));
        expect(await memberIds()).toEqual([id('alice'), id('carol')]);
        expect(await store.getConversationViews(id('bob'), [id('c')])).toEqual([]);
        expect(await store.getMemberViews(id('c'), [id('bob')])).toEqual([]);
        expect((await store.listUserConversations(id('bob'), { limit: 10 })).conversations).toEqual([]);
        expect(await store.userConversationHeads(id('bob'))).toEqual([]);
        // The messages stay; the remaining members see them.
        expect(await readAll(id('c'))).toHaveLength(1);
        expect(await store.userConversationHeads(id('alice'))).toEqual([{ conversationId: id('c'), lastSeq: 1 }]);
        // The last members leave: the conversation is nobody's.
        await store.applyMembershipChange(change({ remove: [id('alice'), id('carol')] }));
        expect(await memberIds()).toEqual([]);
        expect(await store.getConversationViews(id('alice'), [id('c')])).toEqual([]);
      });

      it('sets roles of present members and the title, in one write with adds and removes', async () => {
        await create(id('c'), [id('alice'), id('bob'), id('carol')], { title: 'Old' });
        await store.applyMembershipChange(
          change({
            add: [joined('dave')],
            remove: [id('alice')],
            roles: [{ userId: id('bob'), role: 'owner' }, { userId: id('dave'), role: 'admin' }, { userId: id('ghost'), role: 'admin' }],
            title: 'New ✨',
          }),
        );
        const record = await store.loadConversation(id('c'));
        expect(record?.title).toBe('New ✨');
        expect(sortMembers(record)?.members.map((m) => [m.userId, m.role])).toEqual([
          [id('bob'), 'owner'],
          [id('carol'), 'member'],
          [id('dave'), 'admin'],
        ]);
        // No title given: the title stays.
        await store.applyMembershipChange(change({ roles: [{ userId: id('carol'), role: 'admin' }] }));
        expect(await store.loadConversation(id('c'))).toMatchObject({ title: 'New ✨' });
        const [view] = await store.getConversationViews(id('carol'), [id('c')]);
        expect(view?.title).toBe('New ✨');
        expect(view?.members.find((m) => m.userId === id('carol'))?.role).toBe('admin');
      });

      it('refuses an unknown conversation with NotFoundError', async () => {
        expect(await rejection(store.applyMembershipChange(change({ conversationId: id('ghost'), add: [joined('alice')] })))).toBeInstanceOf(NotFoundError);
        expect(await store.loadConversation(id('ghost'))).toBeNull();
      });

      it('fences by epoch: a lower epoch is refused writing nothing, a higher one is recorded and fences the old', async () => {
        await create(id('c'), [id('alice'), id('bob')], { epoch: 5 });
        const low = await rejection(store.applyMembershipChange(change({ epoch: 4, remove: [id('bob')], add: [joined('carol')], title: 'stale' })));
        expect(low).toBeInstanceOf(StaleEpochError);
        expect(low).toMatchObject({ conversationId: id('c'), epoch: 4, recordedEpoch: 5 });
        expect(await memberIds()).toEqual([id('alice'), id('bob')]);
        expect(await store.loadConversation(id('c'))).toMatchObject({ title: 'a group', epoch: 5 });

        await store.applyMembershipChange(change({ epoch: 8, remove: [id('bob')] }));
        expect(await store.loadConversation(id('c'))).toMatchObject({ epoch: 8 });
        const fenced = await rejection(
          store.appendMessages({ conversationId: id('c'), epoch: 5, expectedLastSeq: 0, messages: [message(id('c'), 1, id('alice'))] }),
        );
        expect(fenced).toBeInstanceOf(StaleEpochError);
        expect(await rejection(store.applyMembershipChange(change({ epoch: 5, add: [joined('bob')] })))).toBeInstanceOf(StaleEpochError);
        expect(await memberIds()).toEqual([id('alice')]);
      });

      it('keeps membership changes across close and reopen', async ({ skip }) => {
        if (!ctx.reopen) {
          skip('this backend has no reopen');
          return;
        }
        await create(id('c'), [id('alice'), id('bob')]);
        await store.applyMembershipChange(
          change({ epoch: 3, add: [joined('carol')], remove: [id('alice')], roles: [{ userId: id('bob'), role: 'owner' }], title: 'Kept' }),
        );
        const before = await store.loadConversation(id('c'));
        await store.close();
        store = await ctx.reopen();
        opened.push(store);
        expect(sortMembers(await store.loadConversation(id('c')))).toEqual(sortMembers(before));
        expect(before).toMatchObject({ title: 'Kept', epoch: 3 });
        expect(await store.getConversationViews(id('alice'), [id('c')])).toEqual([]);
      });
    });

    describe('getMemberViews', () => {
      it('shows the conversation to each member exactly as getConversationViews does; non-members are left out', async () => {
        await create(id('c'), [id('alice'), id('bob'), id('carol')], { title: 'Team' });
        await append(id('c'), 0, [id('alice'), id('bob'), id('alice')]);
        const views = await store.getMemberViews(id('c'), [id('alice'), id('bob'), id('carol'), id('zed'), id('bob')]);
        expect(views.map((v) => v.userId).sort()).toEqual([id('alice'), id('bob'), id('carol')]);
        for (const { userId, view } of views) {
          const [expected] = await store.getConversationViews(userId, [id('c')]);
          expect(sortViewMembers(view)).toEqual(sortViewMembers(expected as Conversation));
        }
        expect(views.find((v) => v.userId === id('bob'))?.view.unread).toBe(2);
        expect(await store.getMemberViews(id('ghost'), [id('alice')])).toEqual([]);
      });
    });

    describe('durability', () => {
      it('keeps everything across close and reopen', async ({ skip }) => {
        if (!ctx.reopen) {
          skip('this backend has no reopen');
          return;
        }
        await store.upsertUser({ id: id('alice'), name: `${np}Alice` });
        const record = await create(id('c'), [id('alice'), id('bob')], { epoch: 4 });
        const sent = await append(id('c'), 0, [id('alice'), id('bob'), id('alice')], { epoch: 4 });
        await store.close();

        store = await ctx.reopen();
        opened.push(store);
        expect(await store.getUsers([id('alice')])).toEqual([{ id: id('alice'), name: `${np}Alice` }]);
        expect(await store.searchUsers(np, 10)).toEqual([{ id: id('alice'), name: `${np}Alice` }]);
        expect(sortMembers(await store.loadConversation(id('c')))).toEqual(
          sortMembers({ ...record, lastSeq: 3, lastActivityAt: sent[2]?.createdAt ?? 0 }),
        );
        expect(await readAll(id('c'))).toEqual(sent);

        // Idempotency keys and the epoch fence survive too.
        const retry = { ...(sent[0] as ChatMessage), seq: 4 };
        expect(await store.appendMessages({ conversationId: id('c'), epoch: 4, expectedLastSeq: 3, messages: [retry] })).toEqual({
          kind: 'duplicates',
          existing: [sent[0]],
        });
        expect(
          await rejection(store.appendMessages({ conversationId: id('c'), epoch: 3, expectedLastSeq: 3, messages: [message(id('c'), 4, id('bob'), { clientMsgId: 'n' })] })),
        ).toBeInstanceOf(StaleEpochError);
        await append(id('c'), 3, [id('bob')], { epoch: 4 });
        expect((await readAll(id('c'))).map((m) => m.seq)).toEqual([1, 2, 3, 4]);
      });
    });

    describe('close', () => {
      it('makes every later call reject with StoreUnavailableError', async () => {
        await create(id('c'), [id('alice')]);
        await store.close();
        const calls: [string, () => Promise<unknown>][] = [
          ['upsertUser', () => store.upsertUser({ id: id('alice'), name: 'A' })],
          ['getUsers', () => store.getUsers([id('alice')])],
          ['searchUsers', () => store.searchUsers('a', 10)],
          ['loadConversation', () => store.loadConversation(id('c'))],
          ['createConversation', () => store.createConversation({ id: id('d'), kind: 'dm', title: null, createdAt: T0, members: [] }, 1)],
          ['appendMessages', () => store.appendMessages({ conversationId: id('c'), epoch: 1, expectedLastSeq: 0, messages: [message(id('c'), 1, id('alice'))] })],
          ['updateMessage', () => store.updateMessage({ epoch: 1, message: message(id('c'), 1, id('alice')) })],
          ['findByClientMsgIds', () => store.findByClientMsgIds(id('c'), [{ senderId: id('alice'), clientMsgId: 'x' }])],
          ['readMessages', () => store.readMessages(id('c'), { limit: 10, direction: 'forward' })],
          ['listUserConversations', () => store.listUserConversations(id('alice'), { limit: 10 })],
          ['userConversationHeads', () => store.userConversationHeads(id('alice'))],
          ['userContacts', () => store.userContacts(id('alice'), 10)],
          ['getConversationViews', () => store.getConversationViews(id('alice'), [id('c')])],
          ['applyMembershipChange', () => store.applyMembershipChange({ conversationId: id('c'), epoch: 1, add: [], remove: [id('alice')], roles: [] })],
          ['getMemberViews', () => store.getMemberViews(id('c'), [id('alice')])],
        ];
        for (const [what, call] of calls) {
          expect(await rejection(call()), what).toBeInstanceOf(StoreUnavailableError);
        }
      });
    });
  });
}

/** A message with predictable defaults: id and clientMsgId derive from the seq. */
export function message(conversationId: string, seq: number, senderId: string, fields: Partial<ChatMessage> = {}): ChatMessage {
  return {
    conversationId,
    seq,
    id: `${conversationId}/${seq}`,
    senderId,
    clientMsgId: `client-${seq}`,
    body: `message ${seq}`,
    attachments: [],
    createdAt: T0 + seq * 1000,
    deleted: false,
    reactions: {},
    ...fields,
  };
}

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to reject, it resolved');
}

function randomPrefix(first: string): string {
  return first + Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}

function byId<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function bySeq(messages: ChatMessage[]): ChatMessage[] {
  return [...messages].sort((a, b) => a.seq - b.seq);
}

/** Member order is not part of the contract. */
function sortMembers(record: ConversationRecord | null): ConversationRecord | null {
  if (!record) return record;
  return { ...record, members: [...record.members].sort((a, b) => (a.userId < b.userId ? -1 : 1)) };
}

function sortViewMembers(view: Conversation): Conversation {
  return { ...view, members: [...view.members].sort((a, b) => (a.userId < b.userId ? -1 : 1)) };
}
