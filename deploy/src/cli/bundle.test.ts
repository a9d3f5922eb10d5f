import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployRoot } from '../paths.js';

// The `chat` bundle (deploy/dist/chat.mjs, built by the run's global setup
// from deploy/build.mjs, as `npm run build` does) carries no test code: no
// test runner, no test kit, no CQL emulator. The lint rule in
// eslint.config.js keeps product sources from importing them; this checks
// what actually ships, transitive imports included.

const dist = join(deployRoot(), 'dist');

describe('the chat bundle', () => {
  it('contains no test code', () => {
    const bundle = readFileSync(join(dist, 'chat.mjs'), 'utf8');
    const found = ['vitest', '@chat/testkit', 'testkit/src', 'EmulatedCluster', 'startCqlServer', 'cql-emulator', 'FaultyCql', 'capturingLogger', 'runStoreContract', 'useStandalone', 'useCluster'].filter((s) =>
      bundle.includes(s),
    );
    expect(found).toEqual([]);
  });

  it('is built from product sources only (its source map lists no test file, test kit or emulator)', () => {
    const map = join(dist, 'chat.mjs.map');
    expect(existsSync(map)).toBe(true);
    // Paths in the map are relative to the bundle's folder: made relative to the repository's root.
    const sources = (JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }).sources.map((s) => relative(join(deployRoot(), '..'), resolve(dist, s)));
    expect(sources.length).toBeGreaterThan(50);
    expect(sources.filter((s) => /\.test\.ts$|(^|\/)testkit\/|\/emulator\/|\/testing\/|fixture/.test(s))).toEqual([]);
    // Every workspace source in it is under a product package's src/.
    expect(sources.filter((s) => !s.includes('node_modules') && !/^(proto|platform|presence|conversation-actors|edge-gateway|local-cassandra|deploy)\/src\//.test(s))).toEqual([]);
  });
});
