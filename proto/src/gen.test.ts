import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const protoDir = fileURLToPath(new URL('..', import.meta.url));
const buf = fileURLToPath(new URL('../../node_modules/.bin/buf', import.meta.url));

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('generated protobuf code', () => {
  it('is what buf + ts-proto generate from protobuf/ now (run `npm run proto` after editing a .proto)', () => {
    const out = mkdtempSync(join(tmpdir(), 'proto-gen-'));
    try {
      // The committed template, with the output redirected to a temporary folder.
      const template = readFileSync(join(protoDir, 'buf.gen.yaml'), 'utf8')
        .replace('out: src/gen', `out: ${out}`)
        .replace('local: ../node_modules/.bin/protoc-gen-ts_proto', `local: ${join(protoDir, '../node_modules/.bin/protoc-gen-ts_proto')}`);
      const templatePath = join(out, 'buf.gen.yaml');
      writeFileSync(templatePath, template);
      execFileSync(buf, ['generate', '--template', templatePath], { cwd: protoDir, stdio: 'pipe' });
      const committedDir = join(protoDir, 'src/gen');
      const fresh = listFiles(out).filter((f) => f.endsWith('.ts')).map((f) => relative(out, f)).sort();
      const committed = listFiles(committedDir).map((f) => relative(committedDir, f)).sort();
      expect(committed).toEqual(fresh);
      for (const file of fresh) {
        expect(readFileSync(join(committedDir, file), 'utf8'), file).toBe(readFileSync(join(out, file), 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
