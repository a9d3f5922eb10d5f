// Runs a bench script: bundles bench/src/<name>.ts with esbuild (third-party
// packages stay external) and executes it with the remaining arguments.
//   node bench/run.mjs load dm-latency --url http://localhost:8080
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [name, ...args] = process.argv.slice(2);
const here = fileURLToPath(new URL('.', import.meta.url));
const entry = `${here}src/${name}.ts`;
if (!name || !existsSync(entry)) {
  console.error(`usage: node bench/run.mjs <script> [options]   (scripts: bench/src/*.ts)`);
  process.exit(2);
}
const outfile = `${here}dist/${name}.mjs`;
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  plugins: [
    {
      name: 'externalize-third-party',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('@chat/') ? undefined : { path: a.path, external: true }));
      },
    },
  ],
});
const result = spawnSync(process.execPath, [outfile, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
