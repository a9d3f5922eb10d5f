import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { takeBrowserTurn } from './chromium.js';

/** A lock of its own, so this test never waits on (or holds up) a browser suite running beside it. */
const lock = `\0chat-browser-lock-test-${process.pid}`;

describe('takeBrowserTurn', () => {
  it('gives the lock to one holder at a time: a second waits until the first releases', async () => {
    const release = await takeBrowserTurn(5000, lock);
    let second = false;
    const waiting = takeBrowserTurn(5000, lock).then((r) => {
      second = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 600));
    expect(second).toBe(false);
    release();
    const releaseSecond = await waiting;
    expect(second).toBe(true);
    releaseSecond();
  });

  it('gives up after its timeout, naming the lock', async () => {
    const release = await takeBrowserTurn(5000, lock);
    try {
      await expect(takeBrowserTurn(300, lock)).rejects.toThrow(/waited 300 ms for the browser lock/);
    } finally {
      release();
    }
  });

  it('frees the lock when its holder is killed, with nothing left to clean up', async () => {
    // A child process takes the lock (the same abstract socket) and says so; then it is SIGKILLed.
    const script = `require('node:net').createServer().listen({ path: ${JSON.stringify(lock)}, exclusive: true }, () => console.log('held'))`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await expect(takeBrowserTurn(300, lock)).rejects.toThrow(/waited 300 ms/);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const release = await takeBrowserTurn(2000, lock);
    release();
  });
});
