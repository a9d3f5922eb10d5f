import { describe, expect, it } from 'vitest';
import type { ConversationJson, MessageJson } from '@chat/proto';
import { ChatClient, type EventFrame } from '@chat/testkit/chat-client';
import { useRestartableDataDir, useStandalone } from '@chat/testkit/standalone-fixture';
import { startInProcess } from '@chat/testkit/system-under-test';

type Msg = MessageJson;
type Conv = ConversationJson;
type User = ChatClient & { user: { id: string } };
interface Marks {
  deliveredSeq: number;
  readSeq: number;
}

const receiptsIn = (conversationId: string, userId?: string) => (e: EventFrame) =>
  e.ev === 'receipt' && e.conversationId === conversationId && (userId === undefined || e.userId === userId);

const MiB = 1024 * 1024;

/** A group owned by `owner` with `others`, once each has seen its conversation.updated. */
async function group(owner: User, others: User[], title = 'Receipts'): Promise<string> {
  const { conversation } = await owner.call<{ conversation: Conv }>('conversation.create_group', {
    title,
    members: others.map((o) => o.user.id),
  });
  for (const c of [owner, ...others]) {
    await c.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as Conv).id === conversation.id);
  }
  return conversation.id;
}

const send = async (c: ChatClient, conversationId: string, clientMsgId: string, extra: Record<string, unknown> = {}) =>
  (await c.call<{ message: Msg }>('message.send', { conversationId, clientMsgId, body: `body ${clientMsgId}`, ...extra })).message;

const mark = (c: ChatClient, conversationId: string, marks: Partial<Marks>) => c.call<Marks & { re: string; ok: true }>('receipt.mark', { conversationId, ...marks });

const marksOf = async (c: ChatClient, conversationId: string): Promise<Marks> => {
  const { deliveredSeq, readSeq } = await mark(c, conversationId, { readSeq: 0 });
  return { deliveredSeq, readSeq };
};

const view = async (c: ChatClient, conversationId: string): Promise<Conv> =>
  (await c.call<{ conversation: Conv }>('conversation.get', { conversationId })).conversation;

describe('standalone: receipts and unread counts over real sockets', () => {
  const { system, login, track } = useStandalone();

  it("views carry every member's marks (protocol extension), in conversation.get, conversation.list and sync", async () => {
    const ada = await login('Ada');
    const ben = await login('Ben');
    const id = await group(ada, [ben]);
    for (const k of ['m1', 'm2', 'm3']) await send(ada, id, k);
    await mark(ben, id, { deliveredSeq: 3, readSeq: 2 });

    // A client that never saw the receipt event (a reload, another device) learns Ben's marks from the view.
    const memberOf = (c: Conv, userId: string) => c.members.find((m) => m.userId === userId);
    expect(memberOf(await view(ada, id), ben.user.id)).toEqual({ userId: ben.user.id, role: 'member', readSeq: 2, deliveredSeq: 3 });
    const { conversations } = await ada.call<{ conversations: Conv[] }>('conversation.list', {});
    expect(memberOf(conversations.find((c) => c.id === id)!, ben.user.id)).toMatchObject({ readSeq: 2, deliveredSeq: 3 });
    const synced = await ada.call<{ conversations: Conv[] }>('sync', { since: {} });
    expect(memberOf(synced.conversations.find((c) => c.id === id)!, ben.user.id)).toMatchObject({ readSeq: 2, deliveredSeq: 3 });
  });

  it('receipt.mark moves marks forward only: a lower mark is ignored and the reply gives the current marks', async () => {
    const ada = await login('Ada');
    const ben = await login('Ben');
    const id = await group(ada, [ben]);
    for (const k of ['m1', 'm2', 'm3', 'm4']) await send(ben, id, k);

    expect(await marksOf(ada, id)).toEqual({ deliveredSeq: 0, readSeq: 0 });
    expect(await mark(ada, id, { deliveredSeq: 3 })).toMatchObject({ ok: true, deliveredSeq: 3, readSeq: 0 });
    expect(await mark(ada, id, { deliveredSeq: 2 })).toMatchObject({ deliveredSeq: 3, readSeq: 0 });
    expect(await mark(ada, id, { readSeq: 2 })).toMatchObject({ deliveredSeq: 3, readSeq: 2 });
    expect(await mark(ada, id, { deliveredSeq: 1, readSeq: 1 })).toMatchObject({ deliveredSeq: 3, readSeq: 2 });
    // Reading implies delivery.
    expect(await mark(ada, id, { readSeq: 4 })).toMatchObject({ deliveredSeq: 4, readSeq: 4 });
    // Past lastSeq: clamped to it.
    expect(await mark(ada, id, { deliveredSeq: 99, readSeq: 50 })).toMatchObject({ deliveredSeq: 4, readSeq: 4 });
    expect(await view(ada, id)).toMatchObject({ lastSeq: 4, deliveredSeq: 4, readSeq: 4, unread: 0 });
    // Ben's marks are his own.
    expect(await view(ben, id)).toMatchObject({ deliveredSeq: 0, readSeq: 0, unread: 0 });
  });

  it('a receipt reaches every session of every member, the marker\u2019s own included; a no-op mark publishes nothing', async () => {
    const cy1 = await login('Cy');
    const cy2 = track(await ChatClient.connect(system().baseUrl, cy1.token));
    const dee = await login('Dee');
    const eve = await login('Eve');
    const id = await group(dee, [cy1, eve]);
    for (const k of ['r1', 'r2', 'r3']) await send(dee, id, k);

    await mark(cy1, id, { readSeq: 2 });
    const expected = { ev: 'receipt', conversationId: id, userId: 'cy', deliveredSeq: 2, readSeq: 2 };
    for (const c of [cy1, cy2, dee, eve]) expect(await c.waitForEvent(receiptsIn(id, 'cy'))).toEqual(expected);

    // No-ops (lower, equal), one move (delivered 3), then an overshoot once at lastSeq (a no-op too).
    await mark(cy1, id, { readSeq: 1 });
    await mark(cy2, id, { deliveredSeq: 2, readSeq: 2 });
    await mark(cy1, id, { deliveredSeq: 3 });
    await mark(cy1, id, { deliveredSeq: 30 });
    await mark(cy2, id, { readSeq: 0 });
    // A conversation's events arrive in order: once eve's receipt is here, any earlier one would be too.
    await mark(eve, id, { deliveredSeq: 1 });
    for (const c of [cy1, cy2, dee, eve]) {
      await c.waitForEvent(receiptsIn(id, 'eve'));
      expect(c.events.filter(receiptsIn(id, 'cy')).map((e) => [e.deliveredSeq, e.readSeq])).toEqual([
        [2, 2],
        [3, 2],
      ]);
      expect(c.events.filter(receiptsIn(id, 'eve')).map((e) => [e.deliveredSeq, e.readSeq])).toEqual([[1, 0]]);
    }
  });

  it('refuses a non-member (forbidden, leaking nothing) and invalid marks (bad_request)', async () => {
    const fay = await login('Fay');
    const gus = await login('Gus');
    const out = await login('Outsider');
    const id = await group(fay, [gus]);
    await send(fay, id, 'f1');

    for (const conversationId of [id, 'g_nosuchgroup']) {
      expect(await out.request('receipt.mark', { conversationId, readSeq: 1 }), conversationId).toMatchObject({
        ok: false,
        error: { code: 'forbidden', message: 'not a member of this conversation' },
      });
    }
    for (const args of [{}, { readSeq: -1 }, { deliveredSeq: 1.5 }, { readSeq: '1' }, { deliveredSeq: null }]) {
      expect(await gus.request('receipt.mark', { conversationId: id, ...args }), JSON.stringify(args)).toMatchObject({
        ok: false,
        error: { code: 'bad_request' },
      });
    }
    expect(await gus.request('receipt.mark', { conversationId: 'bad id!', readSeq: 1 })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    await mark(gus, id, { readSeq: 1 });
    await fay.waitForEvent(receiptsIn(id, 'gus'));
    expect(out.events.filter((e) => e.ev === 'receipt')).toEqual([]);
    expect(await marksOf(fay, id)).toEqual({ deliveredSeq: 0, readSeq: 0 });
  });

  it('a mark sent right after a send, without waiting, applies after it (same lane)', async () => {
    const hal = await login('Hal');
    const ivy = await login('Ivy');
    const id = await group(hal, [ivy]);
    const sending = hal.request('message.send', { conversationId: id, clientMsgId: 'h1', body: 'hello' });
    const marking = hal.request('receipt.mark', { conversationId: id, readSeq: 1 });
    expect((await sending).ok).toBe(true);
    expect(await marking).toMatchObject({ ok: true, deliveredSeq: 1, readSeq: 1 });
  });

  it('unread counts messages after readSeq not sent by the reader, and leaves out deleted ones', async () => {
    const jo = await login('Jo');
    const kai = await login('Kai');
    const id = await group(jo, [kai]);
    await send(kai, id, 'u1');
    await send(jo, id, 'u2');
    const u3 = await send(kai, id, 'u3');
    await send(kai, id, 'u4');

    expect(await view(jo, id)).toMatchObject({ lastSeq: 4, readSeq: 0, unread: 3 });
    expect(await view(kai, id)).toMatchObject({ readSeq: 0, unread: 1 });

    await mark(jo, id, { readSeq: 2 });
    expect(await view(jo, id)).toMatchObject({ readSeq: 2, deliveredSeq: 2, unread: 2 });
    // Delivery alone does not read anything.
    await mark(jo, id, { deliveredSeq: 4 });
    expect(await view(jo, id)).toMatchObject({ readSeq: 2, deliveredSeq: 4, unread: 2 });

    // A deleted message is not unread: nothing of it is left to read.
    await kai.call('message.delete', { conversationId: id, seq: u3.seq });
    expect(await view(jo, id)).toMatchObject({ unread: 1 });

    // conversation.list and sync show the same numbers.
    const listed = await jo.call<{ conversations: Conv[] }>('conversation.list', {});
    expect(listed.conversations.find((c) => c.id === id)).toMatchObject({ readSeq: 2, deliveredSeq: 4, unread: 1 });
    const synced = await jo.call<{ conversations: Conv[] }>('sync', { since: {} });
    expect(synced.conversations.find((c) => c.id === id)).toMatchObject({ readSeq: 2, deliveredSeq: 4, unread: 1 });

    await mark(jo, id, { readSeq: 4 });
    expect(await view(jo, id)).toMatchObject({ readSeq: 4, unread: 0 });
    await send(kai, id, 'u5');
    expect(await view(jo, id)).toMatchObject({ lastSeq: 5, readSeq: 4, unread: 1 });
  });
});

describe('standalone: conversation.list order and paging over real sockets', () => {
  const { login } = useStandalone();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const listAll = async (c: ChatClient, limit: number): Promise<{ ids: string[]; pages: number }> => {
    const ids: string[] = [];
    let before: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await c.call<{ conversations: Conv[]; next: string | null }>('conversation.list', before === undefined ? { limit } : { limit, before });
      pages++;
      expect(page.conversations.length).toBeLessThanOrEqual(limit);
      ids.push(...page.conversations.map((c) => c.id));
      if (page.next === null) return { ids, pages };
      expect(page.conversations).toHaveLength(limit);
      before = page.next;
      expect(pages, 'paging does not end').toBeLessThan(50);
    }
  };

  it('lists most recent activity first, with the last message, and moves a conversation up when it gets one', async () => {
    const lee = await login('Lee');
    const max = await login('Max');
    const a = await group(lee, [max], 'A');
    await sleep(5);
    const b = await group(lee, [max], 'B');
    await sleep(5);
    const { conversation: dm } = await lee.call<{ conversation: Conv }>('conversation.open_dm', { userId: max.user.id });
    await sleep(5);

    let page = await lee.call<{ conversations: Conv[]; next: string | null }>('conversation.list', {});
    expect(page.conversations.map((c) => c.id)).toEqual([dm.id, b, a]);
    expect(page.next).toBeNull();
    expect(page.conversations.map((c) => c.lastMessage)).toEqual([null, null, null]);

    const inA = await send(max, a, 'a1');
    await sleep(5);
    const inB = await send(lee, b, 'b1');
    await sleep(5);
    const lastInA = await send(lee, a, 'a2');
    page = await lee.call<{ conversations: Conv[]; next: string | null }>('conversation.list', {});
    expect(page.conversations.map((c) => c.id)).toEqual([a, b, dm.id]);
    expect(page.conversations[0]).toMatchObject({ lastSeq: 2, lastMessage: lastInA, unread: 1 });
    expect(page.conversations[1]).toMatchObject({ lastSeq: 1, lastMessage: inB, unread: 0 });
    expect(page.conversations[2]!.lastMessage).toBeNull();
    // The same order for the other member, with his own unread counts.
    const maxPage = await max.call<{ conversations: Conv[] }>('conversation.list', {});
    expect(maxPage.conversations.map((c) => [c.id, c.unread])).toEqual([
      [a, 1],
      [b, 1],
      [dm.id, 0],
    ]);
    expect(inA.seq).toBe(1);
  });

  it('pages with limit and next: every conversation exactly once, in order, ties included', async () => {
    const nia = await login('Nia');
    // Created concurrently, so several share a millisecond (a tie broken by id).
    const ids = await Promise.all(Array.from({ length: 9 }, (_, i) => nia.call<{ conversation: Conv }>('conversation.create_group', { title: `P${i}`, members: [] })));
    await send(nia, ids[4]!.conversation.id, 'p4');
    const full = await listAll(nia, 200);
    expect(full.pages).toBe(1);
    expect(new Set(full.ids)).toEqual(new Set(ids.map((r) => r.conversation.id)));
    expect(full.ids[0]).toBe(ids[4]!.conversation.id);
    for (const limit of [1, 2, 4, 8, 9, 10]) {
      const paged = await listAll(nia, limit);
      expect(paged.ids, `limit ${limit}`).toEqual(full.ids);
      expect(paged.pages, `limit ${limit}`).toBe(Math.max(1, Math.ceil(full.ids.length / limit)));
    }
  });

  it('answers an invalid cursor or limit with bad_request', async () => {
    const ola = await login('Ola');
    await group(ola, [], 'Only');
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const before of ['not a cursor', b64('[1]'), b64('{"a":1}'), b64('["x","y"]'), '', 'x'.repeat(600)]) {
      expect(await ola.request('conversation.list', { before }), JSON.stringify(before)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    for (const limit of [0, -1, 201, 1.5]) {
      expect(await ola.request('conversation.list', { limit }), String(limit)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
  });
});

describe('standalone: attachment validation over real sockets (default limits)', () => {
  const { login } = useStandalone();
  const file = (mediaType: string, extra: Record<string, unknown> = {}) => ({
    name: `file.${mediaType.split('/')[1] ?? 'bin'}`,
    mediaType,
    size: 2048,
    url: 'https://files.example/f',
    ...extra,
  });

  it('accepts the allowed types and returns them on the message, the event and in history', async () => {
    const pia = await login('Pia');
    const quinn = await login('Quinn');
    const id = await group(pia, [quinn]);
    const attachments = [
      file('image/png', { width: 640, height: 480 }),
      file('image/jpeg'),
      file('video/mp4'),
      file('audio/ogg'),
      file('application/pdf'),
      file('text/plain', { size: 0 }),
      file('IMAGE/GIF', { url: 'http://localhost:9000/a.gif' }),
      file('image/webp', { size: 100 * MiB }),
    ];
    const message = await send(pia, id, 'att1', { body: '', attachments });
    expect(message.attachments).toEqual(attachments);
    const ev = await quinn.waitForEvent((e) => e.ev === 'message.new' && (e.message as Msg).clientMsgId === 'att1');
    expect((ev.message as Msg).attachments).toEqual(attachments);
    const { messages } = await quinn.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(messages.map((m) => m.attachments)).toEqual([attachments]);
    // Exactly the maximum count is fine.
    const ten = Array.from({ length: 10 }, (_, i) => file('image/png', { name: `p${i}.png` }));
    expect((await send(pia, id, 'att10', { attachments: ten })).attachments).toHaveLength(10);
  });

  it('refuses a disallowed type, too many, too large, a bad url or missing fields with bad_request, storing nothing', async () => {
    const rex = await login('Rex');
    const id = await group(rex, []);
    const refused: [string, unknown[]][] = [
      ['executable', [file('application/x-msdownload')]],
      ['html', [file('text/html')]],
      ['no subtype', [file('image')]],
      ['wildcard', [file('image/*')]],
      ['one bad among good', [file('image/png'), file('application/zip')]],
      ['eleven', Array.from({ length: 11 }, () => file('image/png'))],
      ['over 100 MiB', [file('image/png', { size: 100 * MiB + 1 })]],
      ['negative size', [file('image/png', { size: -1 })]],
      ['not a url', [file('image/png', { url: 'not a url' })]],
      ['javascript url', [file('image/png', { url: 'javascript:alert(1)' })]],
      ['data url', [file('image/png', { url: 'data:image/png;base64,AAAA' })]],
      ['ftp url', [file('image/png', { url: 'ftp://files.example/f' })]],
      ['empty name', [file('image/png', { name: '' })]],
      ['no url', [{ name: 'x.png', mediaType: 'image/png', size: 1 }]],
      ['zero width', [file('image/png', { width: 0 })]],
    ];
    for (const [what, attachments] of refused) {
      const reply = await rex.request('message.send', { conversationId: id, clientMsgId: `bad-${what}`, body: 'x', attachments });
      expect(reply, what).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    const { messages } = await rex.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(messages).toEqual([]);
    expect(rex.events.filter((e) => e.ev === 'message.new')).toEqual([]);
  });
});

describe('standalone: attachment limits are configurable', () => {
  const { login } = useStandalone({ ALLOWED_MEDIA_TYPES: 'image/png, application/pdf', MAX_ATTACHMENTS: '2', MAX_ATTACHMENT_BYTES: '1000' });
  const file = (mediaType: string, size = 10) => ({ name: 'f', mediaType, size, url: 'https://files.example/f' });

  it('applies ALLOWED_MEDIA_TYPES, MAX_ATTACHMENTS and MAX_ATTACHMENT_BYTES', async () => {
    const sam = await login('Sam');
    const id = await group(sam, []);
    const ok = await send(sam, id, 'ok', { attachments: [file('image/png', 1000), file('application/pdf')] });
    expect(ok.attachments).toHaveLength(2);
    for (const [what, attachments] of [
      ['jpeg', [file('image/jpeg')]],
      ['video', [file('video/mp4')]],
      ['three', [file('image/png'), file('image/png'), file('image/png')]],
      ['1001 bytes', [file('image/png', 1001)]],
    ] as const) {
      expect(await sam.request('message.send', { conversationId: id, clientMsgId: what, body: 'x', attachments }), what).toMatchObject({
        ok: false,
        error: { code: 'bad_request' },
      });
    }
  });
});

describe('standalone: receipts and unread counts survive a restart', () => {
  const { dir, cleanups } = useRestartableDataDir();

  it('keeps marks and unread counts, and keeps ignoring lower marks', async () => {
    let sys = await startInProcess({ dataDir: dir.path });
    const tom = await ChatClient.login(sys.baseUrl, 'Tom');
    const uma = await ChatClient.login(sys.baseUrl, 'Uma');
    const id = await group(tom, [uma]);
    for (const k of ['s1', 's2', 's3', 's4', 's5']) await send(tom, id, k);
    await mark(uma, id, { deliveredSeq: 5, readSeq: 2 });
    expect(await view(uma, id)).toMatchObject({ deliveredSeq: 5, readSeq: 2, unread: 3 });
    await Promise.all([tom.close(), uma.close()]);
    await sys.stop();

    sys = await startInProcess({ dataDir: dir.path });
    cleanups.push(() => sys.stop());
    const uma2 = await ChatClient.login(sys.baseUrl, 'Uma');
    cleanups.push(() => uma2.close());
    expect(await view(uma2, id)).toMatchObject({ lastSeq: 5, deliveredSeq: 5, readSeq: 2, unread: 3 });
    const listed = await uma2.call<{ conversations: Conv[] }>('conversation.list', {});
    expect(listed.conversations.find((c) => c.id === id)).toMatchObject({ deliveredSeq: 5, readSeq: 2, unread: 3 });
    // The restarted actor loaded the stored marks: a lower one is still ignored, a higher one moves.
    expect(await mark(uma2, id, { deliveredSeq: 1, readSeq: 1 })).toMatchObject({ deliveredSeq: 5, readSeq: 2 });
    expect(await mark(uma2, id, { readSeq: 4 })).toMatchObject({ deliveredSeq: 5, readSeq: 4 });
    expect(await view(uma2, id)).toMatchObject({ unread: 1 });
  });
});
