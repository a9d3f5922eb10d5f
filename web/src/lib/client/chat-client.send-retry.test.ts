import { describe, expect, it } from 'vitest';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { RequestError } from '@chat/client';
import { ChatClient } from './chat-client.js';
import { devConnection, until } from './test-connection.js';

/**
 * Sends that fail for now go out again by themselves, against a real
 * standalone system whose per-user rate limit is low: a burst of sends is
 * partly refused `rate_limited`, and every one still arrives, once, in the
 * order sent, without ever showing as failed. A refusal resending cannot
 * change shows as failed at once.
 */
const sys = useStandalone({ RATE_LIMIT_PER_SEC: '4', RATE_LIMIT_BURST: '20' });

/** A signed-in client whose message.send replies are counted by outcome. */
async function signIn(name: string) {
  const { connection, user } = await devConnection(sys.system().baseUrl, name);
  const sends = new Map<string, number>();
  const request = connection.request.bind(connection);
  connection.request = (async (op: string, args: unknown) => {
    try {
      return await (request as (op: string, args: unknown) => Promise<unknown>)(op, args);
    } catch (err) {
      if (op === 'message.send') sends.set(err instanceof RequestError ? err.code : 'other', (sends.get(err instanceof RequestError ? err.code : 'other') ?? 0) + 1);
      throw err;
    }
  }) as typeof connection.request;
  const client = new ChatClient(connection, { isVisible: () => true });
  client.start();
  await until(() => connection.online, `${name} online`, 20_000);
  await client.ready;
  return { client, user, sends };
}

describe('ChatClient resends what failed for now', () => {
  it('a burst over the rate limit: the refused sends go out again after retryAfterMs, all arrive once and in order, none shows failed', async () => {
    const bob = await signIn('Retry Bob');
    const ann = await signIn('Retry Ann');
    try {
      const dm = await ann.client.openDm(bob.user.id);
      let sawFailed = false;
      const off = ann.client.state.subscribe(() => {
        if (ann.client.state.pendingSends().some((p) => p.status === 'failed')) sawFailed = true;
      });
      const bodies = Array.from({ length: 30 }, (_, i) => `burst ${i}`);
      const started = Date.now();
      const ids = bodies.map((body) => ann.client.send(dm.id, body));
      // About 17 s at this rate limit when idle; the limiter, not the client, sets the pace, so leave room for a loaded machine.
      await until(() => ann.client.state.pendingSends().length === 0, 'every send to be acknowledged', 50_000);
      off();
      console.log(`30 sends at 4 requests/s: all acknowledged in ${Date.now() - started} ms; refusals: ${JSON.stringify(Object.fromEntries(ann.sends))}`);
      // The limit did refuse some (else this test proves nothing), and none was left failed.
      expect(ann.sends.get('rate_limited') ?? 0).toBeGreaterThan(0);
      expect(sawFailed).toBe(false);
      const { messages } = await bob.client.connection.request('message.history', { conversationId: dm.id, limit: 100 });
      expect(messages.map((m) => [m.body, m.clientMsgId])).toEqual(bodies.map((b, i) => [b, ids[i]]));
    } finally {
      ann.client.stop();
      bob.client.stop();
    }
  }, 60_000);

  it('a refusal resending cannot help (not a member) shows as failed after one attempt', async () => {
    const ann = await signIn('Final Ann');
    try {
      const id = ann.client.send('d_no-such-conversation', 'nowhere');
      await until(() => ann.client.state.pending(id)?.status === 'failed', 'the send to fail', 20_000);
      expect(ann.sends.get('forbidden')).toBe(1);
      // It stays failed: nothing resends it by itself.
      await new Promise((r) => setTimeout(r, 1500));
      expect(ann.sends.get('forbidden')).toBe(1);
      expect(ann.client.state.pending(id)?.status).toBe('failed');
    } finally {
      ann.client.stop();
    }
  });
});
