/**
 * An avatar's look, derived from the user alone: the same id always gives
 * the same colour, on every device, with nothing stored or fetched.
 */

/** Up to two initials: the first letters of the first and last words, or the first two of a single word. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]!];
  if (words.length === 1) return first.slice(0, 2).join('').toUpperCase();
  return (first[0]! + [...words[words.length - 1]!][0]!).toUpperCase();
}

/** WCAG AA for normal text: white initials on the colour meet at least this contrast. */
export const MIN_CONTRAST = 4.5;

/**
 * The avatar colour of `userId`, as `#rrggbb`: its hue from a hash of the id,
 * then darkened until white text on it meets MIN_CONTRAST, so every hue is
 * readable (yellows and greens end darker than blues).
 */
export function avatarColor(userId: string): string {
  const hue = fnv1a(userId) % 360;
  for (let lightness = 46; lightness > 10; lightness -= 2) {
    const rgb = hslToRgb(hue, 0.58, lightness / 100);
    if (contrastWithWhite(rgb) >= MIN_CONTRAST) return toHex(rgb);
  }
  return toHex(hslToRgb(hue, 0.58, 0.1));
}

/** The contrast ratio of white on the colour (WCAG 2 relative luminance). */
export function contrastWithWhite(rgb: readonly [number, number, number]): number {
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05);
}

/** `#rrggbb` to its channels. */
export function parseHex(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

function toHex(rgb: readonly number[]): string {
  return `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}
