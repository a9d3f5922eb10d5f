import { afterEach, describe, expect, it } from 'vitest';
import type { MessageJson } from '@chat/proto';
import { ChatClient, type EventFrame } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { startProcess, tempDir } from '@chat/testkit/system-under-test';

type Msg = MessageJson;
type StreamReply = { length: number; message: Msg | null };

const isDelta = (seq: number) => (e: EventFrame) => e.ev === 'message.delta' && e.seq === seq;
const isFinal = (seq: number) => (e: EventFrame) => e.ev === 'message.updated' && (e.message as Msg).seq === seq && (e.message as Msg).streaming === false;

/** The body a client rebuilds from message.new and the message.delta events it got, as the web client does. */
function rebuilt(start: Msg, deltas: EventFrame[]): string {
  let body = start.body;
  for (const d of deltas) {
    const offset = d.offset as number;
    const text = d.text as string;
    expect(offset).toBeLessThanOrEqual(body.length); // never a gap on a live connection
    body += text.slice(body.length - offset);
  }
  return body;
}

async function dm(a: ChatClient, b: ChatClient & { user: { id: string } }) {
  const { conversation } = await a.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: b.user.id });
  return conversation.id;
}

describe('standalone: streamed messages (message.send streaming, message.stream, message.delta)', () => {
  const { login } = useStandalone({ STREAM_IDLE_MS: '400' });

  it('grows a message in place: members see message.new streaming, coalesced deltas in order, then the final body once', async () => {
    const bot = await login('Bot');
    const ann = await login('Ann');
    const id = await dm(bot, ann);
    const { message: start } = await bot.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 's1', body: '', streaming: true });
    expect(start).toMatchObject({ body: '', streaming: true, truncated: false });
    const [created] = await ann.waitForEvents((e) => e.ev === 'message.new' && (e.message as Msg).seq === start.seq, 1);
    expect((created!.message as Msg).streaming).toBe(true);

    const words = Array.from({ length: 60 }, (_, i) => `w${i} `);
    let offset = 0;
    const appendsFrom = Date.now();
    for (const w of words) {
      const r = await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset, text: w });
      offset += w.length;
      expect(r.length).toBe(offset);
    }
    // History mid-stream serves the live body, not the last persisted one.
    const mid = await ann.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(mid.messages[0]).toMatchObject({ seq: start.seq, body: words.join(''), streaming: true });

    const appendsTook = Date.now() - appendsFrom;
    const end = await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset, text: 'done.', end: true });
    const full = `${words.join('')}done.`;
    expect(end.message).toMatchObject({ body: full, streaming: false, truncated: false });

    const [final] = await ann.waitForEvents(isFinal(start.seq), 1);
    const deltas = ann.events.filter(isDelta(start.seq));
    expect(rebuilt(start, deltas)).toBe(full);
    // Coalesced to at most one frame per 50 ms (plus the one the final flush may add), however long the appends took.
    expect(deltas.length).toBeLessThanOrEqual(Math.ceil(appendsTook / 50) + 2);
    // Every delta came before the final message.
    expect(ann.events.indexOf(final!)).toBeGreaterThan(ann.events.indexOf(deltas.at(-1)!));
    expect(final!.message).toEqual(end.message);
    const stored = await ann.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(stored.messages).toEqual([end.message]);
  });

  it('retries and resends never double text; a gap appends nothing and answers the length to resend from', async () => {
    const bot = await login('Bot2');
    const ben = await login('Ben');
    const id = await dm(bot, ben);
    const { message: start } = await bot.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 's2', body: 'Hello', streaming: true });
    // The same start again (a retry) is the same message.
    const again = await bot.call<{ message: Msg; duplicate: boolean }>('message.send', { conversationId: id, clientMsgId: 's2', body: 'Hello', streaming: true });
    expect(again).toMatchObject({ duplicate: true, message: { seq: start.seq } });

    expect(await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 5, text: ', wor' })).toMatchObject({ length: 10 });
    // A retry of the same append, and an overlapping resend.
    expect(await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 5, text: ', wor' })).toMatchObject({ length: 10 });
    expect(await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 7, text: 'world' })).toMatchObject({ length: 12 });
    // Past the end: nothing appended.
    expect(await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 20, text: 'lost?' })).toMatchObject({ length: 12 });
    const end = await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 12, text: '!', end: true });
    expect(end.message?.body).toBe('Hello, world!');
    // A retried end answers the final message, with its text too (the first answer was lost); anything more is refused.
    expect((await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 13, text: '', end: true })).message).toEqual(end.message);
    expect(await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 12, text: '!', end: true })).toMatchObject({ length: 13, message: end.message });
    expect(await bot.request('message.stream', { conversationId: id, seq: start.seq, offset: 12, text: '?', end: true })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await bot.request('message.stream', { conversationId: id, seq: start.seq, offset: 13, text: 'more' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });

  it('only the sender streams into a message, and not into an ordinary one; an edit waits for the end', async () => {
    const bot = await login('Bot3');
    const cal = await login('Cal');
    const id = await dm(bot, cal);
    const { message: start } = await bot.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 's3', body: 'a', streaming: true });
    expect(await cal.request('message.stream', { conversationId: id, seq: start.seq, offset: 1, text: 'b' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await bot.request('message.edit', { conversationId: id, seq: start.seq, body: 'x' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const { message: plain } = await cal.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 'p3', body: 'plain' });
    expect(plain.streaming).toBeUndefined();
    expect(await cal.request('message.stream', { conversationId: id, seq: plain.seq, offset: 5, text: '!' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    // Not even an empty end: it never streamed, so there is no stream to have ended.
    expect(await cal.request('message.stream', { conversationId: id, seq: plain.seq, offset: 5, text: '', end: true })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    // A reaction mid-stream keeps the body whole.
    await bot.call('message.stream', { conversationId: id, seq: start.seq, offset: 1, text: 'bc' });
    const reacted = await cal.call<{ message: Msg }>('message.react', { conversationId: id, seq: start.seq, emoji: '👀', add: true });
    expect(reacted.message).toMatchObject({ body: 'abc', streaming: true, reactions: { '👀': [cal.user.id] } });
    const end = await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 3, text: 'd', end: true });
    expect(end.message).toMatchObject({ body: 'abcd', reactions: { '👀': [cal.user.id] }, streaming: false });
  });

  it('deleting a message that is still streaming ends its stream: nothing grows it again, not even after the actor reloads it', async () => {
    const bot = await login('Bot5');
    const dee = await login('Dee');
    const id = await dm(bot, dee);
    const { message: start } = await bot.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 's5', body: 'sec', streaming: true });
    await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: 3, text: 'ret' });
    const { message: deleted } = await bot.call<{ message: Msg }>('message.delete', { conversationId: id, seq: start.seq });
    expect(deleted).toMatchObject({ seq: start.seq, deleted: true, body: '', streaming: false });
    const [seen] = await dee.waitForEvents((e) => e.ev === 'message.updated' && (e.message as Msg).seq === start.seq && (e.message as Msg).deleted === true, 1);
    expect((seen!.message as Msg).streaming).toBe(false);
    expect(await bot.request('message.stream', { conversationId: id, seq: start.seq, offset: 6, text: ' again' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    // Idle past STREAM_IDLE_MS: no truncated "final" version of it appears.
    await new Promise((r) => setTimeout(r, 900));
    expect(dee.events.filter((e) => e.ev === 'message.updated' && (e.message as Msg).seq === start.seq && (e.message as Msg).truncated === true)).toEqual([]);
    const history = await dee.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(history.messages.find((m) => m.seq === start.seq)).toMatchObject({ deleted: true, body: '', streaming: false });
  });

  it('a stream that goes idle is finished with what arrived, truncated', async () => {
    const bot = await login('Bot4');
    const dot = await login('Dot');
    const id = await dm(bot, dot);
    const { message: start } = await bot.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 's4', body: 'half an ans', streaming: true });
    await bot.call('message.stream', { conversationId: id, seq: start.seq, offset: 11, text: 'wer' });
    const [final] = await dot.waitForEvents(isFinal(start.seq), 1, 5000);
    expect(final!.message).toMatchObject({ body: 'half an answer', streaming: false, truncated: true });
    const stored = await dot.call<{ messages: Msg[] }>('message.history', { conversationId: id });
    expect(stored.messages[0]).toMatchObject({ body: 'half an answer', truncated: true });
  });
});

describe('standalone: a streamed message survives the server being killed mid-stream', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('persists the body as it grows; after a SIGKILL the sender resends from the stored length and the message ends whole', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    let sys = await startProcess({ dataDir: dir.path });
    cleanups.push(() => void sys.process.kill('SIGKILL'));
    let bot = await ChatClient.login(sys.baseUrl, 'Streamer');
    const eve = await ChatClient.login(sys.baseUrl, 'Eve');
    cleanups.push(() => bot.close(), () => eve.close());
    const id = await dm(bot, eve);
    const { message: start } = await bot.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 'k1', body: '', streaming: true });
    let sent = '';
    const startedAt = Date.now();
    for (let i = 0; Date.now() - startedAt < 1500; i++) {
      const text = `token${i} `;
      await bot.call('message.stream', { conversationId: id, seq: start.seq, offset: sent.length, text });
      sent += text;
      await new Promise((r) => setTimeout(r, 20));
    }
    sys.process.kill('SIGKILL');
    await sys.exited;

    sys = await startProcess({ dataDir: dir.path, port: Number(new URL(sys.baseUrl).port) });
    bot = await ChatClient.login(sys.baseUrl, 'Streamer');
    cleanups.push(() => bot.close());
    const [stored] = (await bot.call<{ messages: Msg[] }>('message.history', { conversationId: id })).messages;
    expect(stored!.streaming).toBe(true);
    // Persisted at least every 500 ms: what is stored is a prefix of what was sent, missing at most ~0.5 s of it.
    expect(sent.startsWith(stored!.body)).toBe(true);
    expect(stored!.body.length).toBeGreaterThan(sent.length / 3);

    // The sender resends from the stored length (what a gap answer tells it; see the test above) and ends.
    const from = stored!.body.length;
    const end = await bot.call<StreamReply>('message.stream', { conversationId: id, seq: start.seq, offset: from, text: `${sent.slice(from)}end.`, end: true });
    expect(end.message).toMatchObject({ body: `${sent}end.`, streaming: false, truncated: false });
  });

  it('a stream whose producer never comes back after a restart ends truncated after the idle time, with nothing else waking its conversation', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    let sys = await startProcess({ dataDir: dir.path, env: { STREAM_IDLE_MS: '500' } });
    cleanups.push(() => void sys.process.kill('SIGKILL'));
    const bot = await ChatClient.login(sys.baseUrl, 'Vanisher');
    const fay = await ChatClient.login(sys.baseUrl, 'Fay');
    cleanups.push(() => bot.close(), () => fay.close());
    const id = await dm(bot, fay);
    const { message: start } = await bot.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 'v1', body: 'an answer that never', streaming: true });
    sys.process.kill('SIGKILL');
    await sys.exited;

    // Idle time long enough for Fay to be connected when the stream ends.
    sys = await startProcess({ dataDir: dir.path, port: Number(new URL(sys.baseUrl).port), env: { STREAM_IDLE_MS: '3000' } });
    const back = await ChatClient.login(sys.baseUrl, 'Fay');
    cleanups.push(() => back.close());
    // Nobody sends or reads (a read would start the conversation's actor): the restarted host finds the
    // open stream by itself and ends it after STREAM_IDLE_MS.
    const [final] = await back.waitForEvents(isFinal(start.seq), 1, 15_000);
    expect(final!.message).toMatchObject({ body: 'an answer that never', streaming: false, truncated: true });
  });
});
