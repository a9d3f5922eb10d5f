// Draws the app icons (web/public/icons/*.png) and writes them as PNGs with
// node's zlib, no image library: `node web/scripts/make-icons.mjs`. The PNGs are
// committed; run this again only to change the design.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const OUT = join(import.meta.dirname, '..', 'public', 'icons');
const BLUE = [0x2f, 0x6f, 0xed];
const WHITE = [0xff, 0xff, 0xff];
/** Samples per pixel edge: 4×4 samples smooth the edges. */
const SS = 4;

/** Whether (x, y), in units of the icon's size (0..1), is inside a rounded rectangle. */
function inRoundRect(x, y, left, top, right, bottom, r) {
  if (x < left || x > right || y < top || y > bottom) return false;
  const cx = Math.min(Math.max(x, left + r), right - r);
  const cy = Math.min(Math.max(y, top + r), bottom - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** The speech bubble with three dots, around (0.5, 0.5), scaled by `k` (the maskable icon keeps it in its safe zone). */
function bubble(x, y, k) {
  const u = 0.5 + (x - 0.5) / k;
  const v = 0.5 + (y - 0.5) / k;
  const body = inRoundRect(u, v, 0.2, 0.24, 0.8, 0.68, 0.12);
  // The tail: a triangle under the bubble's lower left.
  const tail = v >= 0.6 && v <= 0.8 && u >= 0.3 && u <= 0.3 + (0.8 - v) * 0.9 && u <= 0.48;
  if (!body && !tail) return 'none';
  for (const dx of [0.36, 0.5, 0.64]) if ((u - dx) ** 2 + (v - 0.46) ** 2 <= 0.045 ** 2) return 'dot';
  return 'bubble';
}

/** RGBA pixels of one icon: `maskable` fills the whole square (the platform crops it), else a rounded square. */
function draw(size, maskable) {
  const px = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let pxl = 0; pxl < size; pxl++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const x = (pxl + (sx + 0.5) / SS) / size;
          const y = (py + (sy + 0.5) / SS) / size;
          if (!maskable && !inRoundRect(x, y, 0, 0, 1, 1, 0.22)) continue;
          const part = bubble(x, y, maskable ? 0.8 : 1);
          const c = part === 'bubble' ? WHITE : BLUE;
          r += c[0]; g += c[1]; b += c[2]; a += 255;
        }
      }
      const n = SS * SS;
      const i = (py * size + pxl) * 4;
      // Colours are averaged over the covered samples only, so edges fade in alpha, not towards black.
      const covered = a / 255;
      px[i] = covered ? Math.round(r / covered) : 0;
      px[i + 1] = covered ? Math.round(g / covered) : 0;
      px[i + 2] = covered ? Math.round(b / covered) : 0;
      px[i + 3] = Math.round(a / n);
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** An RGBA, 8 bits per channel, non-interlaced PNG. */
function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

mkdirSync(OUT, { recursive: true });
for (const [name, size, maskable] of [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['icon-maskable-512.png', 512, true],
  ['apple-touch-icon.png', 180, true],
]) {
  writeFileSync(join(OUT, name), png(size, draw(size, maskable)));
  console.log(`wrote ${join(OUT, name)}`);
}
