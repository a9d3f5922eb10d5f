import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, silentLogger } from '@chat/platform';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { tempDir } from '@chat/testkit/system-under-test';
import { GrpcChat, healthCheck } from '@chat/testkit/grpc-client';
import { selfSignedCert } from '@chat/testkit/self-signed-cert';
import { startStandalone } from './standalone.js';

const certs = tempDir('chat-grpc-tls-');
const server = selfSignedCert(certs.path, 'server');
const other = selfSignedCert(certs.path, 'other');
afterAll(() => certs.remove());

describe('standalone: the gRPC API over TLS', () => {
  const { system, login } = useStandalone({ GRPC_TLS_CERT: server.certPath, GRPC_TLS_KEY: server.keyPath });

  it('serves calls to a client that trusts the certificate, and refuses a plaintext one', async () => {
    const alice = await login('tls alice');
    const address = `localhost:${system().grpcPort}`;
    const secure = new GrpcChat(address, alice.token, { credentials: credentials.createSsl(server.cert) });
    try {
      await expect(secure.call('listConversations', {})).resolves.toMatchObject({ conversations: [] });
      expect(await healthCheck(address, '', credentials.createSsl(server.cert))).toBe('SERVING');
    } finally {
      secure.close();
    }
    const plain = new GrpcChat(address, alice.token);
    try {
      await expect(plain.call('listConversations', {}, undefined, 3000)).rejects.toMatchObject({ code: status.UNAVAILABLE });
    } finally {
      plain.close();
    }
  });
});

describe('standalone: a full gateway refuses a gRPC connection over TLS too', () => {
  // One slot: the first client's connection takes it.
  const { system, login } = useStandalone({ GRPC_TLS_CERT: server.certPath, GRPC_TLS_KEY: server.keyPath, MAX_CONNECTIONS: '1' });

  it('answers its calls UNAVAILABLE "gateway full" over TLS, while the admitted connection serves', async () => {
    const bob = await login('tls bob'); // a WebSocket session: the one slot
    const address = `localhost:${system().grpcPort}`;
    const refused = new GrpcChat(address, bob.token, { credentials: credentials.createSsl(server.cert), channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
    try {
      await expect(refused.call('listConversations', {}, undefined, 5000)).rejects.toMatchObject({ code: status.UNAVAILABLE, details: expect.stringMatching(/gateway full.*MAX_CONNECTIONS/) });
    } finally {
      refused.close();
    }
    await bob.close();
    // The slot is free once the session's close is seen: a TLS connection is admitted and served.
    for (let attempt = 0; ; attempt++) {
      const admitted = new GrpcChat(address, bob.token, { credentials: credentials.createSsl(server.cert), channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
      try {
        await expect(admitted.call('listConversations', {}, undefined, 5000)).resolves.toMatchObject({ conversations: expect.any(Array) });
        break;
      } catch (err) {
        if (attempt > 30) throw err;
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        admitted.close();
      }
    }
  });
});

describe('GRPC_TLS_CERT and GRPC_TLS_KEY', () => {
  const start = (env: Record<string, string>) => {
    const dir = tempDir();
    return startStandalone(silentLogger(), { PORT: '0', GRPC_PORT: '0', DATA_DIR: dir.path, ...env }).finally(() => dir.remove());
  };
  const refusal = async (env: Record<string, string>): Promise<string[]> => {
    const err: unknown = await start(env).then(
      async (sys) => {
        await sys.stop();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  };

  it('are refused before anything starts unless both are set, readable, PEM, and the key is the certificate’s', async () => {
    expect(await refusal({ GRPC_TLS_CERT: server.certPath })).toEqual([expect.stringMatching(/^GRPC_TLS_KEY: required when GRPC_TLS_CERT is set/)]);
    expect(await refusal({ GRPC_TLS_KEY: server.keyPath })).toEqual([expect.stringMatching(/^GRPC_TLS_CERT: required when GRPC_TLS_KEY is set/)]);
    expect(await refusal({ GRPC_TLS_CERT: join(certs.path, 'missing.crt'), GRPC_TLS_KEY: server.keyPath })).toEqual([
      expect.stringMatching(/^GRPC_TLS_CERT: cannot read .*missing\.crt/),
    ]);
    const garbage = join(certs.path, 'garbage.pem');
    writeFileSync(garbage, 'not a pem file\n');
    expect(await refusal({ GRPC_TLS_CERT: garbage, GRPC_TLS_KEY: server.keyPath })).toEqual([expect.stringMatching(/^GRPC_TLS_CERT: .* is not a PEM certificate/)]);
    expect(await refusal({ GRPC_TLS_CERT: server.certPath, GRPC_TLS_KEY: garbage })).toEqual([expect.stringMatching(/^GRPC_TLS_KEY: .* is not a PEM private key/)]);
    expect(await refusal({ GRPC_TLS_CERT: server.certPath, GRPC_TLS_KEY: other.keyPath })).toEqual([
      expect.stringMatching(/^GRPC_TLS_KEY: .* is not the private key of the certificate/),
    ]);
  });

  it('GRPC_PORT takes a port or off, nothing else', async () => {
    expect(await refusal({ GRPC_PORT: 'ninety' })).toEqual([expect.stringMatching(/^GRPC_PORT: expected a port from 0 to 65535, or off/)]);
    const dir = tempDir();
    const off = await startStandalone(silentLogger(), { PORT: '0', GRPC_PORT: 'off', DATA_DIR: dir.path });
    try {
      expect(off.grpcPort).toBeUndefined();
    } finally {
      await off.stop();
      dir.remove();
    }
  });
});
