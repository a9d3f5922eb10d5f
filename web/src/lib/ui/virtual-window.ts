/**
 * Windowing math for a virtualized list of variable-height rows, free of any
 * framework so it can be unit tested. Rows are identified by a numeric key
 * (a message's seq); a row not measured yet counts as `estimate` pixels.
 */

/** What the window is computed from. */
export interface WindowInput {
  /** The rows' keys, in display order. */
  readonly keys: readonly number[];
  /** Measured heights in px by key; rows missing here count as `estimate`. */
  readonly heights: ReadonlyMap<number, number>;
  /** The assumed height of a row not measured yet (px, > 0). */
  readonly estimate: number;
  /** How far the list is scrolled: px from the list's top to the viewport's top (clamped to the list). */
  readonly scrollTop: number;
  /** The viewport's height in px. */
  readonly viewportHeight: number;
  /** Extra px rendered above and below the viewport, so fast scrolling shows no blank. */
  readonly overscan?: number;
}

/** The rows to render, `start` inclusive to `end` exclusive, with the spacers standing in for the rest. */
export interface WindowSlice {
  readonly start: number;
  readonly end: number;
  /** Height of the rows before `start`. */
  readonly top: number;
  /** Height of the rows from `end` on. */
  readonly bottom: number;
  /** Height of all rows: always `top` + the rendered rows' heights + `bottom`. */
  readonly total: number;
}

/** The height used for the row with `key`: measured if known, otherwise the estimate. */
export function rowHeight(heights: ReadonlyMap<number, number>, estimate: number, key: number): number {
  return heights.get(key) ?? estimate;
}

/** Px from the list's top to the top of the row at `index` (the total height when `index` is the count). */
export function offsetOf(keys: readonly number[], heights: ReadonlyMap<number, number>, estimate: number, index: number): number {
  let y = 0;
  const stop = Math.min(index, keys.length);
  for (let i = 0; i < stop; i++) y += rowHeight(heights, estimate, keys[i]!);
  return y;
}

/**
 * The rows that cover the viewport plus `overscan` px on each side. Linear in
 * the row count (10,000 rows take well under a millisecond), which keeps it
 * simple and always consistent with the height map. Guarantees 0 <= start <=
 * end <= keys.length, at least one row when there are rows, and
 * top + rendered + bottom === total.
 */
export function computeWindow(input: WindowInput): WindowSlice {
  const { keys, heights, estimate } = input;
  const overscan = Math.max(0, input.overscan ?? 0);
  const count = keys.length;
  if (count === 0) return { start: 0, end: 0, top: 0, bottom: 0, total: 0 };

  const from = Math.max(0, input.scrollTop - overscan);
  const to = Math.max(from, input.scrollTop + Math.max(0, input.viewportHeight) + overscan);

  let y = 0;
  let start = -1;
  let top = 0;
  let end = count;
  let bottomStart = 0;
  for (let i = 0; i < count; i++) {
    const h = rowHeight(heights, estimate, keys[i]!);
    // The first row whose bottom edge is below the window's top.
    if (start < 0 && y + h > from) {
      start = i;
      top = y;
    }
    // The first row that starts at or below the window's bottom ends the slice.
    if (start >= 0 && y >= to && i > start) {
      end = i;
      bottomStart = y;
      break;
    }
    y += h;
  }
  // Scrolled past the end: show the last row rather than nothing.
  if (start < 0) {
    start = count - 1;
    top = y - rowHeight(heights, estimate, keys[start]!);
  }
  if (end === count) return { start, end, top, bottom: 0, total: y };
  let total = bottomStart;
  for (let i = end; i < count; i++) total += rowHeight(heights, estimate, keys[i]!);
  return { start, end, top, bottom: total - bottomStart, total };
}

/** The index of the row that contains `y` px from the list's top (clamped to the rows; -1 when empty). */
export function indexAt(keys: readonly number[], heights: ReadonlyMap<number, number>, estimate: number, y: number): number {
  let acc = 0;
  for (let i = 0; i < keys.length; i++) {
    acc += rowHeight(heights, estimate, keys[i]!);
    if (acc > y) return i;
  }
  return keys.length - 1;
}
