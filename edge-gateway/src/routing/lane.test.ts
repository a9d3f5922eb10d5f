import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, RemoteError } from '../errors.js';
import { Lane } from './lane.js';

const policy = { budgetMs: 2000, baseDelayMs: 1, maxDelayMs: 5 };

/** A controllable peer: each attempt waits until the test settles it. */
function peer() {
  const calls: { laneSeq: number; laneAfter: number; resolve(v: string): void; reject(e: unknown): void }[] = [];
  const attempt = (laneSeq: number, laneAfter: number) =>
    new Promise<string>((resolve, reject) => calls.push({ laneSeq, laneAfter, resolve, reject }));
  return { calls, attempt };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('Lane', () => {
  it('sends pipelined requests at once, each naming the previous unanswered one', async () => {
    const p = peer();
    const lane = new Lane<string>(policy, () => {});
    const a = lane.submit(p.attempt, true);
    const b = lane.submit(p.attempt, true);
    expect(p.calls.map((c) => [c.laneSeq, c.laneAfter])).toEqual([
      [1, 0],
      [2, 1],
    ]);
    p.calls[0]!.resolve('a');
    p.calls[1]!.resolve('b');
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(lane.idle).toBe(true);
  });

  it('retries a request that found no owner, holding later ones back until it got through', async () => {
    const p = peer();
    const lane = new Lane<string>(policy, () => {});
    const a = lane.submit(p.attempt, true);
    p.calls[0]!.reject(new BackendUnavailableError('no_responders', 'no owner'));
    await new Promise((r) => setTimeout(r, 0)); // the failure is handled before the next frame arrives
    const b = lane.submit(p.attempt, true); // submitted while blocked: must wait for a
    await until(() => p.calls.length === 2);
    expect(p.calls[1]).toMatchObject({ laneSeq: 1, laneAfter: 0 });
    p.calls[1]!.resolve('a');
    await until(() => p.calls.length === 3);
    expect(p.calls[2]).toMatchObject({ laneSeq: 2 });
    p.calls[2]!.resolve('b');
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
  });

  it('answers a noRetry failure at once and lets the next request go, without retrying it', async () => {
    const p = peer();
    const lane = new Lane<string>({ budgetMs: 10_000, baseDelayMs: 1, maxDelayMs: 5 }, () => {});
    const a = lane.submit(p.attempt, true);
    const started = performance.now();
    p.calls[0]!.reject(new RemoteError('unavailable', 'the store cannot write', undefined, true));
    await expect(a).rejects.toMatchObject({ code: 'unavailable', noRetry: true });
    expect(performance.now() - started).toBeLessThan(1000);
    const b = lane.submit(p.attempt, true);
    // Not blocked: b goes out at once, and a was tried only once.
    expect(p.calls.map((c) => [c.laneSeq, c.laneAfter])).toEqual([
      [1, 0],
      [2, 0],
    ]);
    p.calls[1]!.resolve('b');
    expect(await b).toBe('b');
    expect(lane.idle).toBe(true);
  });

  it('does not stall when a later request gets a final answer while an earlier one waits for its retry', async () => {
    const p = peer();
    const lane = new Lane<string>(policy, () => {});
    const a = lane.submit(p.attempt, true);
    const b = lane.submit(p.attempt, true);
    // a times out (it may have been processed); b, sent after it, succeeds.
    p.calls[0]!.reject(new BackendUnavailableError('timeout', 'no answer'));
    p.calls[1]!.resolve('b');
    expect(await b).toBe('b');
    await until(() => p.calls.length === 3);
    expect(p.calls[2]).toMatchObject({ laneSeq: 1 });
    p.calls[2]!.resolve('a (duplicate)');
    expect(await a).toBe('a (duplicate)');
    expect(lane.idle).toBe(true);
  });

  it('gives up after its budget, and never retries a timed-out request that is not idempotent', async () => {
    const p = peer();
    const lane = new Lane<string>({ budgetMs: 30, baseDelayMs: 5, maxDelayMs: 5 }, () => {});
    const a = lane.submit(p.attempt, true);
    const failing = setInterval(() => {
      for (const c of p.calls.splice(0)) c.reject(new RemoteError('unavailable', 'moving'));
    }, 2);
    await expect(a).rejects.toMatchObject({ code: 'unavailable' });
    clearInterval(failing);
    const q = peer();
    const once = new Lane<string>(policy, () => {});
    const create = once.submit(q.attempt, false);
    q.calls[0]!.reject(new BackendUnavailableError('timeout', 'no answer'));
    await expect(create).rejects.toMatchObject({ reason: 'timeout' });
    expect(q.calls).toHaveLength(1);
  });
});
