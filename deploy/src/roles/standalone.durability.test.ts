import { afterEach, describe, expect, it } from 'vitest';
import type { MessageJson } from '@chat/proto';
import { ChatClient, devLogin } from '@chat/testkit/chat-client';
import { startInProcess, startProcess, tempDir } from '@chat/testkit/system-under-test';

type Msg = MessageJson;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function dmBetween(baseUrl: string, a: string, b: string) {
  const ca = await ChatClient.login(baseUrl, a);
  const cb = await ChatClient.login(baseUrl, b);
  cleanups.push(() => ca.close(), () => cb.close());
  const { conversation } = await ca.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: cb.user.id });
  return { ca, cb, id: conversation.id };
}

describe('standalone: durability, idempotency, history and sync', () => {
  it('answers a retried clientMsgId with the original and duplicate: true, also after a restart', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    let sys = await startInProcess({ dataDir: dir.path });
    const { ca, id } = await dmBetween(sys.baseUrl, 'Ida', 'Jon');
    const first = await ca.call<{ message: Msg; duplicate: boolean }>('message.send', { conversationId: id, clientMsgId: 'k-1', body: 'once' });
    const retry = await ca.call<{ message: Msg; duplicate: boolean }>('message.send', { conversationId: id, clientMsgId: 'k-1', body: 'once' });
    expect(first.duplicate).toBe(false);
    expect(retry).toMatchObject({ duplicate: true, message: first.message });
    // The same clientMsgId from another sender is another message.
    await ca.close();
    await sys.stop();

    sys = await startInProcess({ dataDir: dir.path });
    cleanups.push(() => sys.stop());
    const again = await ChatClient.login(sys.baseUrl, 'Ida');
    cleanups.push(() => again.close());
    const afterRestart = await again.call<{ message: Msg; duplicate: boolean }>('message.send', { conversationId: id, clientMsgId: 'k-1', body: 'once' });
    expect(afterRestart).toMatchObject({ duplicate: true, message: first.message });
    // And the next new message continues the sequence with no gap.
    const next = await again.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 'k-2', body: 'twice' });
    expect(next.message.seq).toBe(2);
    const jon = await ChatClient.login(sys.baseUrl, 'Jon');
    cleanups.push(() => jon.close());
    const jonSame = await jon.call<{ message: Msg; duplicate: boolean }>('message.send', { conversationId: id, clientMsgId: 'k-1', body: 'mine' });
    expect(jonSame).toMatchObject({ duplicate: false, message: { seq: 3, senderId: 'jon' } });
  });

  it('pages history backwards and forwards, and sync returns exactly what a disconnected client missed', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const sys = await startInProcess({ dataDir: dir.path });
    cleanups.push(() => sys.stop());
    const { ca, cb, id } = await dmBetween(sys.baseUrl, 'Hal', 'Kim');
    for (let i = 1; i <= 25; i++) await ca.call('message.send', { conversationId: id, clientMsgId: `h${i}`, body: `m${i}` });

    const seqs = (r: { messages: Msg[] }) => r.messages.map((m) => m.seq);
    const latest = await cb.call<{ messages: Msg[]; hasMore: boolean }>('message.history', { conversationId: id, limit: 10 });
    expect(seqs(latest)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(latest.hasMore).toBe(true);
    const older = await cb.call<{ messages: Msg[]; hasMore: boolean }>('message.history', { conversationId: id, before: 16, limit: 10 });
    expect(seqs(older)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const oldest = await cb.call<{ messages: Msg[]; hasMore: boolean }>('message.history', { conversationId: id, before: 6, limit: 10 });
    expect(seqs(oldest)).toEqual([1, 2, 3, 4, 5]);
    expect(oldest.hasMore).toBe(false);
    const forward = await cb.call<{ messages: Msg[]; hasMore: boolean }>('message.history', { conversationId: id, after: 20, limit: 3 });
    expect(seqs(forward)).toEqual([21, 22, 23]);
    expect(forward.hasMore).toBe(true);
    const tail = await cb.call<{ messages: Msg[]; hasMore: boolean }>('message.history', { conversationId: id, after: 23, limit: 10 });
    expect(seqs(tail)).toEqual([24, 25]);
    expect(tail.hasMore).toBe(false);
    const between = await cb.call<{ messages: Msg[]; hasMore: boolean }>('message.history', { conversationId: id, after: 3, before: 7, limit: 10 });
    expect(seqs(between)).toEqual([4, 5, 6]);

    // Kim disconnects having seen up to 25; Hal sends 5 more and opens a new DM.
    await cb.close();
    for (let i = 26; i <= 30; i++) await ca.call('message.send', { conversationId: id, clientMsgId: `h${i}`, body: `m${i}` });
    const other = await ChatClient.login(sys.baseUrl, 'Lou');
    cleanups.push(() => other.close());
    const { conversation: dm2 } = await other.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: 'kim' });
    await other.call('message.send', { conversationId: dm2.id, clientMsgId: 'n1', body: 'new here' });

    const kim = await ChatClient.login(sys.baseUrl, 'Kim');
    cleanups.push(() => kim.close());
    const synced = await kim.call<{
      conversations: { id: string; lastSeq: number }[];
      messages: Record<string, Msg[]>;
      truncated: string[];
    }>('sync', { since: { [id]: 25 } });
    expect(synced.conversations.map((c) => c.id).sort()).toEqual([id, dm2.id].sort());
    expect(synced.messages[id]!.map((m) => m.seq)).toEqual([26, 27, 28, 29, 30]);
    expect(synced.messages[dm2.id]!.map((m) => m.body)).toEqual(['new here']);
    expect(synced.truncated).toEqual([]);
    // Nothing changed since: nothing comes back.
    const quiet = await kim.call<{ conversations: unknown[] }>('sync', { since: { [id]: 30, [dm2.id]: 1 } });
    expect(quiet.conversations).toEqual([]);
    // A small limit truncates and returns the newest.
    const small = await kim.call<{ messages: Record<string, Msg[]>; truncated: string[] }>('sync', { since: { [id]: 20 }, limit: 3 });
    expect(small.messages[id]!.map((m) => m.seq)).toEqual([28, 29, 30]);
    expect(small.truncated).toContain(id);
  });

  it('loses none of 200 acknowledged messages when the process is SIGKILLed, and seq continues after restart', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    // 200 pipelined sends plus the open_dm exceed the default burst of 200; this test is about durability.
    const proc = await startProcess({ dataDir: dir.path, env: { RATE_LIMIT_BURST: '1000' } });
    cleanups.push(() => void proc.process.kill('SIGKILL'));
    const { ca, id } = await dmBetween(proc.baseUrl, 'Max', 'Ned');
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => ca.request('message.send', { conversationId: id, clientMsgId: `k${i}`, body: `b${i}` })),
    );
    expect(replies.every((r) => r.ok)).toBe(true);
    proc.process.kill('SIGKILL');
    expect((await proc.exited).signal).toBe('SIGKILL');

    const again = await startProcess({ dataDir: dir.path });
    cleanups.push(() => void again.process.kill('SIGKILL'));
    const max = await ChatClient.login(again.baseUrl, 'Max');
    cleanups.push(() => max.close());
    const all: Msg[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await max.call<{ messages: Msg[]; hasMore: boolean }>('message.history', { conversationId: id, limit: 200, ...(before ? { before } : {}) });
      all.unshift(...page.messages);
      if (!page.hasMore) break;
      before = page.messages[0]!.seq;
    }
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const acked = new Map(replies.map((r) => [(r.message as Msg).clientMsgId, (r.message as Msg).seq]));
    for (const m of all) expect(acked.get(m.clientMsgId)).toBe(m.seq);
    const next = await max.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 'after-crash', body: 'still here' });
    expect(next.message.seq).toBe(201);
  });

  it('on SIGTERM finishes cleanly: sockets close with 1001 and the process exits 0', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const proc = await startProcess({ dataDir: dir.path });
    cleanups.push(() => void proc.process.kill('SIGKILL'));
    const { token } = await devLogin(proc.baseUrl, 'Oli');
    const client = await ChatClient.connect(proc.baseUrl, token);
    const { conversation } = await client.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: 'oli' });
    // A request in flight when SIGTERM lands still gets its reply.
    const inFlight = client.request('message.send', { conversationId: conversation.id, clientMsgId: 't1', body: 'last words' });
    proc.process.kill('SIGTERM');
    const reply = await inFlight;
    expect(reply.ok === true || reply.error?.code === 'unavailable').toBe(true);
    expect((await client.closed()).code).toBe(1001);
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });
});
