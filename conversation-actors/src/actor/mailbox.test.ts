import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../errors.js';
import { Mailbox } from './mailbox.js';

interface Item {
  kind: 'send' | 'other';
  n: number;
}

const sameKind = (a: Item, b: Item): boolean => a.kind === b.kind;
const always = (): boolean => true;

describe('Mailbox', () => {
  it('hands items out in the order they were pushed', () => {
    const box = new Mailbox<number>(10);
    for (const n of [3, 1, 4, 1, 5]) box.push(n);
    expect(box.depth).toBe(5);
    const out: number[] = [];
    for (;;) {
      const batch = box.takeBatch(1, always);
      if (batch.length === 0) break;
      out.push(...batch);
    }
    expect(out).toEqual([3, 1, 4, 1, 5]);
    expect(box.depth).toBe(0);
  });

  it('keeps no reference to what it handed out', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const box = new Mailbox<{ body: string }>(10);
    // Pushed from a function of its own, so no local of this test holds one.
    const pushTracked = (n: number): WeakRef<{ body: string }> => {
      const item = { body: `message ${n}` };
      box.push(item);
      return new WeakRef(item);
    };
    const refs = [0, 1, 2].map(pushTracked);
    box.push({ body: 'still waiting' });
    expect(box.takeBatch(2, always)).toHaveLength(2);
    expect(box.takeBatch(1, always)).toHaveLength(1);
    // A WeakRef's target is kept until the job that created it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.map((r) => r.deref())).toEqual([undefined, undefined, undefined]);
    expect(box.takeBatch(1, always)).toEqual([{ body: 'still waiting' }]);
  });

  it('an empty mailbox yields an empty batch', () => {
    const box = new Mailbox<number>(2);
    expect(box.takeBatch(10, always)).toEqual([]);
    box.push(1);
    box.takeBatch(10, always);
    expect(box.takeBatch(10, always)).toEqual([]);
  });

  it('refuses an item past its capacity with OverloadedError and keeps what it holds', () => {
    const box = new Mailbox<number>(2);
    box.push(1);
    box.push(2);
    expect(() => box.push(3)).toThrow(OverloadedError);
    expect(box.depth).toBe(2);
    // Room frees up as items are taken.
    expect(box.takeBatch(1, always)).toEqual([1]);
    box.push(4);
    expect(() => box.push(5)).toThrow(OverloadedError);
    expect(box.drain()).toEqual([2, 4]);
  });

  it('the overload error carries the protocol code unavailable', () => {
    const box = new Mailbox<number>(1);
    box.push(1);
    let caught: unknown;
    try {
      box.push(2);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OverloadedError);
    expect((caught as OverloadedError).code).toBe('unavailable');
  });

  it('a batch holds at most max items, in order', () => {
    const box = new Mailbox<number>(100);
    for (let n = 1; n <= 7; n++) box.push(n);
    expect(box.takeBatch(3, always)).toEqual([1, 2, 3]);
    expect(box.takeBatch(3, always)).toEqual([4, 5, 6]);
    expect(box.takeBatch(3, always)).toEqual([7]);
    expect(box.depth).toBe(0);
  });

  it('a batch stops at the first item sameBatch refuses, which leads the next batch', () => {
    const box = new Mailbox<Item>(100);
    const items: Item[] = [
      { kind: 'send', n: 1 },
      { kind: 'send', n: 2 },
      { kind: 'other', n: 3 },
      { kind: 'send', n: 4 },
      { kind: 'other', n: 5 },
      { kind: 'other', n: 6 },
    ];
    for (const item of items) box.push(item);
    const batches: number[][] = [];
    for (;;) {
      const batch = box.takeBatch(10, sameKind);
      if (batch.length === 0) break;
      batches.push(batch.map((i) => i.n));
    }
    expect(batches).toEqual([[1, 2], [3], [4], [5, 6]]);
  });

  it('sameBatch compares each candidate with the first item of the batch', () => {
    const box = new Mailbox<number>(100);
    for (const n of [10, 11, 12, 30, 13]) box.push(n);
    const seen: [number, number][] = [];
    // Within 5 of the batch's first item.
    const batch = box.takeBatch(10, (first, next) => {
      seen.push([first, next]);
      return Math.abs(next - first) <= 5;
    });
    expect(batch).toEqual([10, 11, 12]);
    expect(seen).toEqual([
      [10, 11],
      [10, 12],
      [10, 30],
    ]);
    expect(box.takeBatch(10, () => true)).toEqual([30, 13]);
  });

  it('the first item is always taken, even when max is 1 or sameBatch refuses everything', () => {
    const box = new Mailbox<number>(10);
    box.push(1);
    box.push(2);
    expect(box.takeBatch(1, always)).toEqual([1]);
    expect(box.takeBatch(10, () => false)).toEqual([2]);
  });

  it('drain removes and returns everything waiting, in order, and the mailbox stays usable', () => {
    const box = new Mailbox<number>(3);
    box.push(1);
    box.push(2);
    box.push(3);
    expect(box.takeBatch(1, always)).toEqual([1]);
    expect(box.drain()).toEqual([2, 3]);
    expect(box.depth).toBe(0);
    expect(box.drain()).toEqual([]);
    expect(box.takeBatch(5, always)).toEqual([]);
    box.push(4);
    box.push(5);
    box.push(6);
    expect(() => box.push(7)).toThrow(OverloadedError);
    expect(box.takeBatch(5, always)).toEqual([4, 5, 6]);
  });

  it('keeps order and depth across many pushes and takes (internal compaction)', () => {
    const box = new Mailbox<number>(5000);
    let next = 0;
    const out: number[] = [];
    // Interleave pushes and takes so the consumed prefix grows past any compaction threshold.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) box.push(next++);
      const batch = box.takeBatch(round % 2 === 0 ? 70 : 130, always);
      out.push(...batch);
      expect(box.depth).toBe(next - out.length);
    }
    out.push(...box.drain());
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});
