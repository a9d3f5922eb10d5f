import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { fromBinary } from '@bufbuild/protobuf';
import { API_DESCRIPTOR_SET_BASE64 } from './api-descriptor.js';

const script = fileURLToPath(new URL('../scripts/api-descriptor.mjs', import.meta.url));

describe('API descriptor set', () => {
  it('is what buf builds from protobuf/ now (run `npm run proto` after editing a .proto)', () => {
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('describes the ChatApi service and the files it imports', () => {
    const set = fromBinary(FileDescriptorSetSchema, Buffer.from(API_DESCRIPTOR_SET_BASE64, 'base64'));
    const names = set.file.map((f) => f.name);
    expect(names).toContain('chat/v1/api.proto');
    expect(names).toContain('chat/v1/model.proto');
    const api = set.file.find((f) => f.name === 'chat/v1/api.proto')!;
    expect(api.service.map((s) => s.name)).toEqual(['ChatApi']);
    expect(api.service[0]!.method.map((m) => m.name)).toContain('WatchEvents');
  });
});

