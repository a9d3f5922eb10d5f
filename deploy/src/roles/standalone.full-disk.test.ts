import { afterAll, describe, expect, it } from 'vitest';
import type { MessageJson } from '@chat/proto';
import { ChatClient, type Reply } from '@chat/testkit/chat-client';
import { mountSmallDisk } from '@chat/testkit/small-disk';
import { startInProcess } from '@chat/testkit/system-under-test';

// A real full disk: DATA_DIR on a 4 MiB tmpfs of the test's own, filled up
// with a file and freed again. Mounting needs root (or CAP_SYS_ADMIN): where
// it is not permitted the test is skipped (conversation-actors'
// write-health.test.ts covers the same behaviour through a store wrapper).
const { disk, skipReason } = mountSmallDisk(4 * 1024 * 1024);
if (skipReason) console.warn(`full-disk test skipped: ${skipReason}`);
afterAll(() => disk?.unmount());

/** Far from the gateway's retry budget (what a full disk used to cost, 10 s), and generous for a loaded 2-core box. */
const PROMPT_MS = 4000;

async function timed(p: Promise<Reply>): Promise<{ reply: Reply; ms: number }> {
  const started = performance.now();
  const reply = await p;
  return { reply, ms: performance.now() - started };
}

async function readyz(baseUrl: string): Promise<number> {
  return (await fetch(`${baseUrl}/readyz`)).status;
}

describe.skipIf(!disk)(`standalone on a full disk${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('answers writes unavailable at once, keeps serving reads and other conversations, is not ready, and recovers when space returns', async () => {
    const sys = await startInProcess({ dataDir: `${disk!.path}/data` });
    const clients: ChatClient[] = [];
    try {
      const ann = await ChatClient.login(sys.baseUrl, 'Ann');
      const bob = await ChatClient.login(sys.baseUrl, 'Bob');
      const cid = await ChatClient.login(sys.baseUrl, 'Cid');
      clients.push(ann, bob, cid);
      const { conversation: withBob } = await ann.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: bob.user.id });
      const { conversation: withCid } = await ann.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: cid.user.id });
      await ann.call('message.send', { conversationId: withCid.id, clientMsgId: 'c-0', body: 'before' });
      expect(await readyz(sys.baseUrl)).toBe(200);

      disk!.fill();
      // Free WAL pages may still take a few commits: send until the file system refuses one.
      const acknowledged: string[] = [];
      const body = 'x'.repeat(4000);
      let refused: { reply: Reply; ms: number } | undefined;
      for (let i = 0; i < 400 && !refused; i++) {
        const attempt = await timed(ann.request('message.send', { conversationId: withBob.id, clientMsgId: `b-${i}`, body }));
        if (attempt.reply.ok) acknowledged.push(`b-${i}`);
        else refused = attempt;
      }
      expect(refused, 'no send was refused on a full disk').toBeDefined();
      expect(refused!.reply.error).toMatchObject({ code: 'unavailable' });
      expect(refused!.reply.error?.message).toMatch(/disk is full|disk I\/O error/);
      expect(refused!.ms).toBeLessThan(PROMPT_MS);
      expect(await readyz(sys.baseUrl)).toBe(503);

      // The session's other requests, in this conversation and another, pipelined: each answered promptly.
      const [again, historyHere, historyThere, sendThere] = await Promise.all([
        timed(ann.request('message.send', { conversationId: withBob.id, clientMsgId: 'b-again', body })),
        timed(ann.request('message.history', { conversationId: withBob.id, limit: 5 })),
        timed(ann.request('message.history', { conversationId: withCid.id, limit: 5 })),
        timed(ann.request('message.send', { conversationId: withCid.id, clientMsgId: 'c-full', body })),
      ]);
      for (const r of [again, historyHere, historyThere, sendThere]) expect(r.ms).toBeLessThan(PROMPT_MS);
      // Reads need no space; writes either land or are refused, never held.
      expect(historyHere.reply.ok).toBe(true);
      expect(historyThere.reply).toMatchObject({ ok: true });
      for (const r of [again, sendThere]) {
        if (!r.reply.ok) expect(r.reply.error?.code).toBe('unavailable');
      }
      if (again.reply.ok) acknowledged.push('b-again');
      const cidAcknowledged = ['c-0', ...(sendThere.reply.ok ? ['c-full'] : [])];

      // Space returns: readiness comes back by itself (the store's probe), and sends succeed.
      disk!.free();
      const deadline = performance.now() + 10_000;
      while ((await readyz(sys.baseUrl)) !== 200) {
        expect(performance.now(), 'not ready again within 10 s of space returning').toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = await ann.call<{ message: MessageJson }>('message.send', { conversationId: withBob.id, clientMsgId: 'b-after', body: 'space is back' });
      acknowledged.push('b-after');
      expect(after.message.body).toBe('space is back');
      // A refused send retried now is stored once.
      const retried = await ann.call<{ message: MessageJson; duplicate: boolean }>('message.send', { conversationId: withBob.id, clientMsgId: 'b-again', body });
      if (!acknowledged.includes('b-again')) acknowledged.push('b-again');

      // Nothing acknowledged was lost, nothing stored twice, and seqs have no gap.
      const history = await bob.call<{ messages: MessageJson[] }>('message.history', { conversationId: withBob.id, limit: 200 });
      const ids = history.messages.map((m) => m.clientMsgId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of acknowledged) expect(ids).toContain(id);
      expect(history.messages.map((m) => m.seq)).toEqual(history.messages.map((_, i) => i + 1));
      expect(retried.message.seq).toBeGreaterThan(0);
      const cidHistory = await cid.call<{ messages: MessageJson[] }>('message.history', { conversationId: withCid.id, limit: 10 });
      expect(cidHistory.messages.map((m) => m.clientMsgId)).toEqual(cidAcknowledged);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await sys.stop();
    }
  }, 90_000);
});
