import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deployRoot } from '../paths.js';

const root = join(deployRoot(), '..');

describe('package-lock.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lockfile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is what npm install writes: installing leaves the tracked lock unchanged (so npm ci installs exactly it)', () => {
    // The manifests and the lock alone, in a scratch copy: npm recomputes the lock from them (metadata from the registry, no install).
    const manifests = execFileSync('git', ['ls-files', 'package.json', '*/package.json', 'examples/*/package.json'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const file of [...manifests, 'package-lock.json']) {
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      copyFileSync(join(root, file), join(dir, file));
    }
    execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'pipe', timeout: 120_000 });
    expect(readFileSync(join(dir, 'package-lock.json'), 'utf8')).toBe(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  });
});
