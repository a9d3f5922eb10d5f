import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActorReply, ActorRequest, TYPING_ENDED_SUBJECT, TypingEnded, shardOf, shardSubject } from '@chat/proto';
import { LocalBus, silentLogger } from '@chat/platform';
import { TypingEnder } from './typing-ender.js';

const SHARDS = 4;

describe('TypingEnder', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A bus whose shard subjects answer like actors would: `answer` decides the reply; every request is recorded with its subject. */
  function harness(answer: (req: ActorRequest) => ActorReply) {
    const bus = new LocalBus();
    cleanups.push(() => bus.close());
    const seen: { subject: string; req: ActorRequest }[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      bus.subscribe(shardSubject(shard), (msg) => {
        const req = ActorRequest.decode(msg.data);
        seen.push({ subject: msg.subject, req });
        msg.respond(ActorReply.encode(answer(req)).finish());
      });
    }
    const start = () => {
      const ender = new TypingEnder({ bus, shardCount: SHARDS, logger: silentLogger() });
      ender.start();
      cleanups.push(() => ender.stop());
      return ender;
    };
    const announce = (conversationId: string, userId: string) => bus.publish(TYPING_ENDED_SUBJECT, TypingEnded.encode({ conversationId, userId }).finish());
    return { bus, seen, start, announce };
  }

  const relayed: ActorReply = { result: { $case: 'typing', value: {} } };

  it('sends the conversation’s actor a typing active: false on the typist’s behalf, on its shard', async () => {
    const h = harness(() => relayed);
    h.start();
    h.announce('conv-1', 'alice');
    await vi.waitFor(() => expect(h.seen).toHaveLength(1), { timeout: 5000, interval: 5 });
    const [{ subject, req }] = h.seen as [{ subject: string; req: ActorRequest }];
    expect(subject).toBe(shardSubject(shardOf('conv-1', SHARDS)));
    expect(req).toMatchObject({ caller: { id: 'alice' }, conversationId: 'conv-1', laneSeq: 0, laneAfter: 0, op: { $case: 'typing', value: { active: false } } });
  });

  it('handles each announcement on one host of the queue group, and ignores invalid ones', async () => {
    const h = harness(() => relayed);
    h.start();
    h.start();
    h.bus.publish(TYPING_ENDED_SUBJECT, new Uint8Array([0xff, 0xff, 0xff]));
    h.announce('bad.conversation', 'alice');
    h.announce('conv-2', 'not valid');
    for (let i = 0; i < 20; i++) h.announce(`conv-${i}`, 'bob');
    await vi.waitFor(() => expect(h.seen.length).toBeGreaterThanOrEqual(20), { timeout: 5000, interval: 5 });
    await new Promise((r) => setTimeout(r, 20));
    expect(h.seen.map((s) => s.req.conversationId).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `conv-${i}`).sort());
  });

  it('ignores a forbidden answer (the typist left meanwhile) and retries nothing', async () => {
    const h = harness(() => ({ result: { $case: 'failure', value: { code: 'forbidden', message: 'not a member', retryAfterMs: undefined } } }));
    const ender = h.start();
    h.announce('conv-3', 'carol');
    await vi.waitFor(() => expect(h.seen).toHaveLength(1), { timeout: 5000, interval: 5 });
    await ender.stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(h.seen).toHaveLength(1);
  });
});
