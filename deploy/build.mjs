// Bundles the `chat` command (deploy/src/cli/main.ts and every workspace
// package it imports) into deploy/dist/chat.mjs. Third-party packages stay
// external and load from node_modules, native addons included.
import { build } from 'esbuild';
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ['deploy/src/cli/main.ts'],
  outfile: 'deploy/dist/chat.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'externalize-third-party',
      setup(b) {
        // Bare imports that are not our own @chat/* workspaces load from node_modules at run time.
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('@chat/') ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});

// Worker scripts are loaded by path at run time (new URL(..., import.meta.url)),
// so they sit next to the bundle as they sit next to their module in the sources.
mkdirSync(`${root}deploy/dist`, { recursive: true });
for (const worker of ['sqlite-writer-worker.mjs', 'sqlite-checkpoint-worker.mjs']) {
  copyFileSync(`${root}conversation-actors/src/store/sqlite/${worker}`, `${root}deploy/dist/${worker}`);
}
// The ScyllaDB migrations are read by path too (`chat migrate`, scylla-migrations.ts: ./migrations/ beside the module).
// Replaced, not merged: a migration renamed or removed in the sources must not linger in the bundle.
rmSync(`${root}deploy/dist/migrations`, { recursive: true, force: true });
cpSync(`${root}conversation-actors/src/store/scylla/migrations`, `${root}deploy/dist/migrations`, { recursive: true });
