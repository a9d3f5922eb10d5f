import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// k6 is not installable here, so its scripts cannot run in CI; this at least
// keeps every one of them parseable as the ES module k6 will load.
const dir = fileURLToPath(new URL('../k6/', import.meta.url));
const scripts = [...readdirSync(dir).filter((f) => f.endsWith('.js')), ...readdirSync(`${dir}lib`).map((f) => `lib/${f}`)];

describe('the k6 scripts', () => {
  it('include the gRPC scenarios next to the WebSocket ones', () => {
    expect(scripts).toEqual(expect.arrayContaining(['dm-latency.js', 'grpc-send.js', 'grpc-stream.js', 'lib/chat.js', 'lib/grpc.js']));
  });

  it.each(scripts)('%s parses', (script) => {
    expect(() => execFileSync(process.execPath, ['--check', `${dir}${script}`], { stdio: 'pipe' })).not.toThrow();
  });
});
