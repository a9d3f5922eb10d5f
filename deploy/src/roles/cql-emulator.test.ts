import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { chatBin } from '../paths.js';
import { runMigrate } from '../cli/migrate-command.js';

describe('chat cql-emulator', () => {
  it('serves CQL on CQL_EMULATOR_PORT until SIGTERM: chat migrate runs against it, and it says it is not a database', async () => {
    const child = spawn(process.execPath, [chatBin(), 'cql-emulator'], { env: { ...process.env, CQL_EMULATOR_PORT: '0', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (d) => (output += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within 10 s:\n${output}`)), 10_000);
      child.stdout.on('data', (d) => {
        output += String(d);
        const m = /CQL emulator ready on port (\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    try {
      expect(output).toMatch(/keeps everything in memory and loses it when it stops/);
      const outcome = await runMigrate({ SCYLLA_CONTACT_POINTS: `127.0.0.1:${port}`, SCYLLA_KEYSPACE: 'chat' });
      expect(outcome.applied).toEqual([1]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
