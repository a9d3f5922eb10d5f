/**
 * Scroll anchoring for the message log, read from the DOM. The log keeps the
 * row the reader is looking at in place while rows above it change (an older
 * page prepended, rows measured, images and fonts loading). Its position is
 * read from the rendered row itself, not from the virtual window's height
 * model: the model holds estimates for rows not measured yet, and an anchor
 * taken or restored through an estimate moves the row by the estimate's error
 * once the real height arrives (the reader's row once jumped 180 px).
 */

/** The row kept in place: its key (`data-seq`) and its top edge's distance (px) below the viewport's top. */
export interface ScrollAnchor {
  readonly seq: number;
  readonly offset: number;
}

/**
 * The anchor for what the viewport shows now: the first row whose top edge
 * is in view, or the row over the viewport's top when none starts in it (a
 * row taller than the viewport). A row cut off at the top is not chosen: its
 * height may still change (measured, an image loading) and move everything
 * below it. `rows` in display order; undefined when none is in view.
 */
export function captureAnchor(viewport: Element, rows: Iterable<HTMLElement>): ScrollAnchor | undefined {
  const view = viewport.getBoundingClientRect();
  let covering: ScrollAnchor | undefined;
  for (const row of rows) {
    const r = row.getBoundingClientRect();
    if (r.bottom <= view.top) continue;
    if (r.top >= view.bottom) break;
    const anchor = { seq: Number(row.dataset.seq), offset: r.top - view.top };
    if (r.top >= view.top - 0.5) return anchor;
    covering ??= anchor;
  }
  return covering;
}

/**
 * How far (px) the anchor's row is below where it belongs: scrolling down by
 * this much puts it back (negative: up). Undefined when the row is not rendered.
 */
export function anchorDrift(viewport: Element, row: Element | null | undefined, anchor: ScrollAnchor): number | undefined {
  if (!row) return undefined;
  return row.getBoundingClientRect().top - viewport.getBoundingClientRect().top - anchor.offset;
}
