import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServiceError, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@chat/platform';
import { scrapeMetric } from '../cluster/local-cluster.js';
import { startStandalone } from './standalone.js';
import { ChatClient, UpgradeRefused, devLogin } from '@chat/testkit/chat-client';
import { GrpcChat } from '@chat/testkit/grpc-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

const MAX = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readyz(opsUrl: string): Promise<number> {
  return (await fetch(`${opsUrl}/readyz`, { signal: AbortSignal.timeout(5000) })).status;
}


describe('standalone: gRPC connections count toward MAX_CONNECTIONS', () => {
  const { system, track } = useStandalone({ MAX_CONNECTIONS: String(MAX), MAX_CONNECTIONS_PER_USER: '100', OPS_PORT: '0' });
  const grpcClients: GrpcChat[] = [];
  /** A client on a connection of its own: grpc-js otherwise shares one connection among clients to the same address. */
  const grpcClient = (token: string) => {
    const c = new GrpcChat(`127.0.0.1:${system().grpcPort}`, token, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
    grpcClients.push(c);
    return c;
  };

  it('shares one budget with the WebSocket sessions: past it, gRPC calls on a new connection fail UNAVAILABLE "gateway full", upgrades get 503, /readyz is 503, the admitted connections keep working, and a closed one frees its slot', async () => {
    try {
      const { baseUrl, opsUrl } = system();
      const bot = await devLogin(baseUrl, 'Grpc Cap Bot');
      // Half the budget WebSocket, half gRPC (a call each, so each connection is open).
      await Promise.all(Array.from({ length: MAX / 2 }, () => ChatClient.connect(baseUrl, bot.token).then(track)));
      const admitted = Array.from({ length: MAX / 2 }, () => grpcClient(bot.token));
      for (const c of admitted) await c.call('listConversations', {});
      expect(await scrapeMetric(opsUrl, 'chat_gateway_grpc_connections')).toBe(MAX / 2);

      // Full: not ready; one more gRPC connection is answered UNAVAILABLE with the reason, and counted.
      expect(await readyz(opsUrl)).toBe(503);
      const refused = await grpcClient(bot.token)
        .call('listConversations', {}, undefined, 5000)
        .then(
          () => undefined,
          (e: unknown) => e as ServiceError,
        );
      expect(refused?.code).toBe(status.UNAVAILABLE);
      expect(refused?.details).toMatch(/gateway full.*6.*MAX_CONNECTIONS/);
      expect(await scrapeMetric(opsUrl, 'chat_gateway_grpc_connections_rejected_total')).toBeGreaterThanOrEqual(1);
      expect(await scrapeMetric(opsUrl, 'chat_gateway_grpc_connections')).toBe(MAX / 2);
      // And a WebSocket upgrade too: the gRPC connections hold half the budget.
      const upgrade = await ChatClient.connect(baseUrl, bot.token).then(track, (e: unknown) => e);
      expect(upgrade).toBeInstanceOf(UpgradeRefused);
      expect((upgrade as UpgradeRefused).status).toBe(503);

      // The admitted ones still serve.
      for (const c of admitted) await expect(c.call('listConversations', {})).resolves.toBeDefined();

      // One gRPC connection closes: its slot goes to the next connection, after which the gateway is full again.
      admitted[0]!.close();
      let again: GrpcChat | undefined;
      for (let attempt = 0; !again; attempt++) {
        const c = grpcClient(bot.token);
        try {
          await c.call('listConversations', {}, undefined, 5000);
          again = c;
        } catch (err) {
          // The server may see the close a moment after the client made it.
          if ((err as ServiceError).code !== status.UNAVAILABLE || attempt > 50) throw err;
          c.close();
          await sleep(100);
        }
      }
      expect(await readyz(opsUrl)).toBe(503);
      // Freeing a slot makes it ready again.
      admitted[1]!.close();
      for (let attempt = 0; (await readyz(opsUrl)) !== 200; attempt++) {
        expect(attempt).toBeLessThan(50);
        await sleep(100);
      }
    } finally {
      for (const c of grpcClients) c.close();
    }
  });
});

describe('standalone: the gRPC listener', () => {
  it('fails the start, naming GRPC_PORT, when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'grpc-port-taken-'));
    try {
      await expect(startStandalone(silentLogger(), { PORT: '0', GRPC_PORT: String(port), DATA_DIR: dataDir, SQLITE_SYNC: 'normal' })).rejects.toThrow(
        `cannot listen for gRPC on port ${port}: it is in use or not permitted (set GRPC_PORT to a free port, or off)`,
      );
    } finally {
      taken.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
