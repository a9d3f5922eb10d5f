import { describe, expect, it } from 'vitest';
import { anchorDrift, captureAnchor } from './scroll-anchor.js';

/** A stand-in for an element: only what the functions read (its box, and a row's data-seq). */
function box(top: number, height: number, seq?: number): HTMLElement {
  return { dataset: seq === undefined ? {} : { seq: String(seq) }, getBoundingClientRect: () => ({ top, bottom: top + height }) } as unknown as HTMLElement;
}

const viewport = box(100, 400);

describe('captureAnchor', () => {
  it('takes the first row whose top edge is in view, not the one cut off above it', () => {
    const rows = [box(0, 60, 1), box(60, 60, 2), box(120, 60, 3), box(180, 60, 4)];
    expect(captureAnchor(viewport, rows)).toEqual({ seq: 3, offset: 20 });
  });

  it('takes a row starting exactly at the viewport top', () => {
    expect(captureAnchor(viewport, [box(40, 60, 1), box(100, 60, 2)])).toEqual({ seq: 2, offset: 0 });
  });

  it('takes the row over the top when it covers the whole viewport', () => {
    expect(captureAnchor(viewport, [box(50, 900, 7), box(950, 60, 8)])).toEqual({ seq: 7, offset: -50 });
  });

  it('has no anchor when no rendered row is in view', () => {
    expect(captureAnchor(viewport, [box(0, 50, 1), box(600, 50, 2)])).toBeUndefined();
    expect(captureAnchor(viewport, [])).toBeUndefined();
  });
});

describe('anchorDrift', () => {
  it('is how far the row is below where the anchor keeps it', () => {
    expect(anchorDrift(viewport, box(150, 60, 3), { seq: 3, offset: 20 })).toBe(30);
    expect(anchorDrift(viewport, box(100, 60, 3), { seq: 3, offset: 20 })).toBe(-20);
  });

  it('is undefined for a row not rendered', () => {
    expect(anchorDrift(viewport, undefined, { seq: 3, offset: 20 })).toBeUndefined();
  });
});
