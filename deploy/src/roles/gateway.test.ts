import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsBus, connectNatsBus, createMetricsRegistry, loadEnvConfig, silentLogger } from '@chat/platform';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import type { Gateway } from '@chat/edge-gateway';
import { ChatClient } from '@chat/testkit/chat-client';
import { clusterGatewayEnvSchema } from './cluster-env.js';
import { startGatewayRole } from './gateway-role.js';

describe('a cluster gateway with no actor host reachable', () => {
  let nats: NatsServerProcess;
  let bus: NatsBus;
  let gateway: Gateway;
  let baseUrl: string;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false });
    bus = await connectNatsBus({ servers: nats.url, name: 'lonely-gateway', logger: silentLogger() });
    const config = loadEnvConfig(clusterGatewayEnvSchema, {
      PORT: '0',
      OPS_PORT: '0',
      GRPC_PORT: 'off',
      NATS_URL: nats.url,
      JWT_SECRET: 'lonely-gateway-secret-0123456789abcdef',
      DEV_LOGIN: 'true',
      REQUEST_RETRY_MS: '300',
    });
    gateway = await startGatewayRole({ bus, config, secret: config.JWT_SECRET, registry: createMetricsRegistry('test'), logger: silentLogger(), serveWeb: false });
    baseUrl = `http://127.0.0.1:${gateway.port}`;
  });
  afterAll(async () => {
    await gateway.stop();
    await bus.close();
    await nats.stop();
  });

  it('still logs users in and connects them (the directory entry is best effort), answers ping, and says unavailable for the rest', async () => {
    const client = await ChatClient.login(baseUrl, 'Lonely');
    expect(client.hello).toMatchObject({ ev: 'hello', user: { id: 'lonely' } });
    expect((await client.request('ping')).ok).toBe(true);
    const list = await client.request('conversation.list');
    expect(list).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    const send = await client.request('message.send', { conversationId: 'g_nowhere', clientMsgId: 'x', body: 'hello?' });
    expect(send).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    await client.close();
  });

  it('serves /healthz, /readyz and /metrics on its ops port only, and is ready while connected to NATS', async () => {
    const opsUrl = `http://127.0.0.1:${gateway.opsPort}`;
    expect(gateway.opsPort).not.toBe(gateway.port);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${opsUrl}${path}`)).status, path).toBe(200);
      const pub = await fetch(`${baseUrl}${path}`);
      expect(pub.status, `public ${path}`).toBe(404);
      expect(await pub.text()).toContain('OPS_PORT');
    }
    expect(await (await fetch(`${opsUrl}/metrics`)).text()).toMatch(/chat_gateway_upgrades_rejected_total\{reason="gateway_full"\} 0/);
  });
});
