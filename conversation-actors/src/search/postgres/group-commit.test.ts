import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('runs a call alone when nothing runs, and the calls made meanwhile together next', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const group = new GroupCommit<number, number>(async (batch) => {
      batches.push(batch);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return batch.map((n) => n * 10);
    });
    const first = group.call(1);
    const rest = [2, 3, 4].map((n) => group.call(n));
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('keeps a call that may not join for the next batch, and caps a batch', async () => {
    const batches: string[][] = [];
    let release: () => void = () => {};
    const group = new GroupCommit<string, string>(
      async (batch) => {
        batches.push(batch);
        if (batches.length === 1) await new Promise<void>((r) => (release = r));
        return batch;
      },
      (batch, req) => !batch.includes(req),
      2,
    );
    const calls = ['x', 'a', 'a', 'b', 'c'].map((k) => group.call(k));
    release();
    await Promise.all(calls);
    expect(batches).toEqual([['x'], ['a', 'b'], ['a', 'c']]);
  });

  it('runs a batch that failed on bad data again one call at a time, so only the call that cannot succeed fails', async () => {
    let release: () => void = () => {};
    let runs = 0;
    const group = new GroupCommit<number, number>(
      async (batch) => {
        runs++;
        if (runs === 1) await new Promise<void>((r) => (release = r));
        if (batch.includes(13)) throw new Error('unlucky');
        return batch;
      },
      undefined,
      undefined,
      (err) => (err as Error).message === 'unlucky',
    );
    const first = group.call(1);
    const others = [12, 13, 14].map((n) => group.call(n));
    release();
    await first;
    const settled = await Promise.allSettled(others);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(runs).toBe(1 + 1 + 3);
  });

  it('fails a whole batch at once on an error that is not the data’s (the database down), running it once', async () => {
    let release: () => void = () => {};
    let runs = 0;
    const group = new GroupCommit<number, number>(
      async (batch) => {
        runs++;
        if (runs === 1) {
          await new Promise<void>((r) => (release = r));
          return batch;
        }
        throw new Error('database down');
      },
      undefined,
      undefined,
      (err) => (err as Error).message === 'unlucky',
    );
    const first = group.call(1);
    const others = [2, 3, 4].map((n) => group.call(n));
    release();
    await first;
    const settled = await Promise.allSettled(others);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(runs).toBe(2);
  });
});
