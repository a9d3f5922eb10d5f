/**
 * Whether the device's main input is touch (no hover, a coarse pointer): a
 * phone or tablet keyboard has no Shift+Enter, so there Enter breaks the line
 * and the Send button sends.
 */
export function touchInput(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(hover: none) and (pointer: coarse)').matches;
}

/** The composer's placeholder for the input in use. */
export function composerHint(touch: boolean, what = 'Write a message'): string {
  return touch ? `${what} (@ mentions)` : `${what} (Enter sends, Shift+Enter for a new line, @ mentions)`;
}
