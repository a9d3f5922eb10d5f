import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Logger, Plugin } from 'vite';

/** The most JavaScript, gzipped, a first visit may load before the app runs. */
export const STARTUP_JS_BUDGET = 50 * 1024;

/**
 * Fails the build when the JavaScript index.html loads at startup (its
 * module script and the chunks it preloads) is over `budget` bytes gzipped
 * (level 9, as web/precompress.ts serves it), and prints that size and the
 * size of all JavaScript (chunks loaded on first use, such as the emoji
 * picker, included). Sizes are measured on the written files, so what is
 * checked is what is served.
 */
export function sizeBudget(outDir: string, budget = STARTUP_JS_BUDGET): Plugin {
  let logger: Logger | undefined;
  return {
    name: 'chat-size-budget',
    apply: 'build',
    configResolved(config) {
      logger = config.logger;
    },
    closeBundle() {
      const gz = (file: string) => gzipSync(readFileSync(join(outDir, file)), { level: 9 }).length;
      const html = readFileSync(join(outDir, 'index.html'), 'utf8');
      const startup = [...html.matchAll(/(?:src|href)="\/([^"]+\.js)"/g)].map((m) => m[1]!);
      const all = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.js')).map((f) => `assets/${f}`);
      const startupBytes = startup.reduce((n, f) => n + gz(f), 0);
      const allBytes = all.reduce((n, f) => n + gz(f), 0);
      const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
      logger?.info(`web: JavaScript gzipped: ${kib(startupBytes)} at startup (budget ${kib(budget)}), ${kib(allBytes)} in all`);
      if (startup.length === 0) throw new Error('size budget: index.html loads no JavaScript the check can find');
      if (startupBytes > budget) {
        // A NODE_ENV other than production (vitest sets "test") makes Vite build a larger, development-flavoured bundle.
        const hint = process.env['NODE_ENV'] && process.env['NODE_ENV'] !== 'production' ? ` (NODE_ENV=${process.env['NODE_ENV']}: build with NODE_ENV=production)` : '';
        throw new Error(`size budget: the startup JavaScript is ${kib(startupBytes)} gzipped, over the ${kib(budget)} budget${hint}`);
      }
    },
  };
}
