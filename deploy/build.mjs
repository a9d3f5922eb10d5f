// Bundles the `chat` command (deploy/src/cli/main.ts and every workspace
// package it imports) into deploy/dist/chat.mjs. Third-party packages stay
// external and load from node_modules, native addons included.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// chat_build_info's labels (platform/src/build-info.ts): the release and, in a git checkout, the commit.
const version = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version;
// CHAT_REVISION names it where there is no .git (the container build passes it as a build argument).
let revision = process.env.CHAT_REVISION || 'unknown';
if (!process.env.CHAT_REVISION) {
  try {
    revision = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not a git checkout (an unpacked release): the version alone names the build.
  }
}

await build({
  absWorkingDir: root,
  entryPoints: ['deploy/src/cli/main.ts'],
  outfile: 'deploy/dist/chat.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  define: { __CHAT_VERSION__: JSON.stringify(version), __CHAT_REVISION__: JSON.stringify(revision) },
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
