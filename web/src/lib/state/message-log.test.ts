import { describe, expect, it } from 'vitest';
import { MessageLog } from './message-log.js';
import { msg } from './test-messages.js';

describe('MessageLog', () => {
  it('dedupes by seq and keeps seq order whatever the arrival order', () => {
    const log = new MessageLog();
    expect(log.insert(msg('c', 2))).toBe('added');
    expect(log.insert(msg('c', 1))).toBe('added');
    expect(log.insert(msg('c', 2))).toBe('ignored');
    expect(log.insert(msg('c', 3))).toBe('added');
    expect(log.messages().map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(log.size).toBe(3);
    expect(log.contiguousHigh).toBe(3);
  });

  it('never lets an older copy undo a newer edit', () => {
    const log = new MessageLog();
    log.insert(msg('c', 1, { body: 'edited', editedAt: 5, changeSeq: 4 }));
    expect(log.insert(msg('c', 1, { body: 'original', changeSeq: 0 }))).toBe('ignored');
    expect(log.get(1)?.body).toBe('edited');
    expect(log.insert(msg('c', 1, { body: '', deleted: true, changeSeq: 5 }))).toBe('replaced');
    expect(log.get(1)?.deleted).toBe(true);
  });

  it('grows a streaming message by message.delta: overlaps append only what is new, a gap or a finished message is reported', () => {
    const log = new MessageLog();
    log.insert(msg('c', 1, { body: 'Hel', streaming: true }));
    expect(log.appendText(1, 3, 'lo')).toBe('applied');
    expect(log.appendText(1, 3, 'lo, w')).toBe('applied');
    expect(log.get(1)?.body).toBe('Hello, w');
    expect(log.appendText(1, 20, 'later')).toBe('gap');
    expect(log.get(1)?.body).toBe('Hello, w');
    expect(log.messages()[0]?.body).toBe('Hello, w');
    // The final message (changeSeq moved) replaces it; deltas no longer apply.
    expect(log.insert(msg('c', 1, { body: 'Hello, world', streaming: false, changeSeq: 1 }))).toBe('replaced');
    expect(log.appendText(1, 12, '!')).toBe('gap');
    expect(log.appendText(2, 0, 'x')).toBe('gap');
  });

  it('tracks the unbroken run and reports the first hole', () => {
    const log = new MessageLog();
    for (const seq of [10, 11, 12, 20, 21]) log.insert(msg('c', seq));
    expect(log.low).toBe(10);
    expect(log.contiguousHigh).toBe(12);
    expect(log.maxSeq).toBe(21);
    expect(log.firstGap()).toEqual({ after: 12, before: 20 });
    for (let seq = 13; seq < 20; seq++) log.insert(msg('c', seq));
    expect(log.firstGap()).toBeNull();
    expect(log.contiguousHigh).toBe(21);
    expect(log.hasOlder).toBe(true);
  });

  it('older history below the lowest seq extends the run downwards', () => {
    const log = new MessageLog();
    for (const seq of [51, 52]) log.insert(msg('c', seq));
    for (let seq = 1; seq <= 50; seq++) log.insert(msg('c', seq));
    expect(log.low).toBe(1);
    expect(log.contiguousHigh).toBe(52);
    expect(log.hasOlder).toBe(false);
  });

  it('update only replaces messages it holds', () => {
    const log = new MessageLog();
    log.insert(msg('c', 5));
    expect(log.update(msg('c', 3, { changeSeq: 1 }))).toBe('ignored');
    expect(log.size).toBe(1);
  });

  it('dropBelow forgets older messages and recomputes the run', () => {
    const log = new MessageLog();
    for (let seq = 1; seq <= 10; seq++) log.insert(msg('c', seq));
    log.dropBelow(6);
    expect(log.low).toBe(6);
    expect(log.contiguousHigh).toBe(10);
    expect(log.messages().map((m) => m.seq)).toEqual([6, 7, 8, 9, 10]);
  });

  it('gives a new array after every change and the same one otherwise (views compare by identity)', () => {
    const log = new MessageLog();
    log.insert(msg('c', 1));
    const first = log.messages();
    expect(log.messages()).toBe(first);
    log.insert(msg('c', 2));
    const second = log.messages();
    expect(second).not.toBe(first);
    expect(first.map((m) => m.seq)).toEqual([1]);
    expect(second.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('holds 10,000 messages arriving in order, read after each one as a view does', () => {
    const log = new MessageLog();
    let view: readonly { seq: number }[] = [];
    for (let seq = 1; seq <= 10_000; seq++) {
      log.insert(msg('c', seq));
      view = log.messages();
    }
    expect(log.size).toBe(10_000);
    expect(log.contiguousHigh).toBe(10_000);
    expect(view.map((m) => m.seq)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
  });
});
