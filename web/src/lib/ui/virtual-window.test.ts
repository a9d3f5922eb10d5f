import { describe, expect, it } from 'vitest';
import { computeWindow, indexAt, offsetOf, type WindowSlice } from './virtual-window.js';

const keys = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => from + i);
const none = new Map<number, number>();

/** top + the rendered rows + bottom must be the whole list. */
function expectConsistent(slice: WindowSlice, ks: number[], heights: Map<number, number>, estimate: number): void {
  let rendered = 0;
  for (let i = slice.start; i < slice.end; i++) rendered += heights.get(ks[i]!) ?? estimate;
  expect(slice.top + rendered + slice.bottom).toBe(slice.total);
  expect(slice.total).toBe(offsetOf(ks, heights, estimate, ks.length));
  expect(slice.top).toBe(offsetOf(ks, heights, estimate, slice.start));
}

describe('computeWindow', () => {
  it('is empty for no rows', () => {
    expect(computeWindow({ keys: [], heights: none, estimate: 50, scrollTop: 0, viewportHeight: 500 })).toEqual({ start: 0, end: 0, top: 0, bottom: 0, total: 0 });
  });

  it('at the top renders the rows that fill the viewport plus the overscan, and no top spacer', () => {
    const ks = keys(10_000);
    const slice = computeWindow({ keys: ks, heights: none, estimate: 50, scrollTop: 0, viewportHeight: 500, overscan: 100 });
    expect(slice).toMatchObject({ start: 0, end: 12, top: 0, total: 500_000 });
    expectConsistent(slice, ks, none, 50);
  });

  it('in the middle renders only the rows around the viewport', () => {
    const ks = keys(10_000);
    const slice = computeWindow({ keys: ks, heights: none, estimate: 50, scrollTop: 250_000, viewportHeight: 500, overscan: 100 });
    // 249,900 .. 250,600 px: rows 4998 (starts at 249,900) to 5011 (ends at 250,600).
    expect(slice).toMatchObject({ start: 4998, end: 5012, top: 249_900 });
    expect(slice.bottom).toBe(500_000 - 250_600);
    expectConsistent(slice, ks, none, 50);
  });

  it('at the bottom renders the last rows and no bottom spacer', () => {
    const ks = keys(10_000);
    const slice = computeWindow({ keys: ks, heights: none, estimate: 50, scrollTop: 500_000 - 500, viewportHeight: 500, overscan: 100 });
    expect(slice).toMatchObject({ start: 9988, end: 10_000, bottom: 0 });
    expectConsistent(slice, ks, none, 50);
  });

  it('scrolled past the end still renders the last row', () => {
    const ks = keys(5);
    const slice = computeWindow({ keys: ks, heights: none, estimate: 50, scrollTop: 10_000, viewportHeight: 500 });
    expect(slice).toMatchObject({ start: 4, end: 5, top: 200, bottom: 0, total: 250 });
  });

  it('uses measured heights where known and the estimate elsewhere', () => {
    const ks = keys(100);
    // The first ten rows are tall (200 px), the rest unmeasured (40 px).
    const heights = new Map(ks.slice(0, 10).map((k) => [k, 200] as const));
    const slice = computeWindow({ keys: ks, heights, estimate: 40, scrollTop: 2000, viewportHeight: 400 });
    // 2000 px is exactly the end of the tall rows: the window starts at row 10 and holds ten 40 px rows.
    expect(slice).toMatchObject({ start: 10, end: 20, top: 2000, total: 2000 + 90 * 40 });
    expectConsistent(slice, ks, heights, 40);
    // With nothing measured the same scroll position is much further down the list.
    const guessed = computeWindow({ keys: ks, heights: none, estimate: 40, scrollTop: 2000, viewportHeight: 400 });
    expect(guessed).toMatchObject({ start: 50, end: 60, top: 2000, total: 4000 });
  });

  it('keeps spacers consistent for random heights and positions', () => {
    const ks = keys(2000, 500);
    const heights = new Map<number, number>();
    let seed = 7;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (const k of ks) if (rand() < 0.6) heights.set(k, Math.round(20 + rand() * 300));
    const total = offsetOf(ks, heights, 64, ks.length);
    for (let n = 0; n < 50; n++) {
      const scrollTop = rand() * total;
      const slice = computeWindow({ keys: ks, heights, estimate: 64, scrollTop, viewportHeight: 700, overscan: 300 });
      expectConsistent(slice, ks, heights, 64);
      expect(slice.start).toBeLessThan(slice.end);
      // The rendered rows cover the viewport.
      expect(slice.top).toBeLessThanOrEqual(Math.max(0, scrollTop - 300));
      expect(slice.total - slice.bottom).toBeGreaterThanOrEqual(Math.min(total, scrollTop + 700));
    }
  });
});

describe('offsetOf and indexAt', () => {
  it('agree with each other', () => {
    const ks = keys(10);
    const heights = new Map([[3, 100]]); // key 3 is the row at index 2
    expect(offsetOf(ks, heights, 10, 2)).toBe(20);
    expect(offsetOf(ks, heights, 10, 3)).toBe(120);
    expect(offsetOf(ks, heights, 10, 10)).toBe(190);
    expect(indexAt(ks, heights, 10, 0)).toBe(0);
    expect(indexAt(ks, heights, 10, 25)).toBe(2);
    expect(indexAt(ks, heights, 10, 119)).toBe(2);
    expect(indexAt(ks, heights, 10, 120)).toBe(3);
    expect(indexAt(ks, heights, 10, 10_000)).toBe(9);
    expect(indexAt([], heights, 10, 0)).toBe(-1);
  });
});
