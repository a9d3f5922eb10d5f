import { describe, expect, it } from 'vitest';
import type { Conversation } from '@chat/proto';
import { useGrpcClients } from '@chat/testkit/grpc-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

type Presence = { userId: string; online: boolean; lastSeen: number | null };

describe('standalone: a WatchEvents stream is a presence session', () => {
  const { system, login } = useStandalone();
  const grpc = useGrpcClients(() => system().grpcPort);

  it('a caller watching events is online to its contacts while the stream lasts, and goes offline when it ends', async () => {
    const bot = await login('presence watcher');
    const ann = await login('presence ann');
    const api = grpc(bot.token);
    await api.call<{ conversation: Conversation }>('openDm', { userId: ann.user.id });
    // The watcher's WebSocket goes away: from now on only its gRPC stream can make it online.
    await bot.close();
    const presenceOf = async () => (await ann.call<{ presence: Presence[] }>('presence.get', { userIds: [bot.user.id] })).presence[0]!;
    await expect.poll(async () => (await presenceOf()).online, { timeout: 5000 }).toBe(false);

    const watch = api.watch();
    await watch.registered;
    await ann.waitForEvent((e) => e.ev === 'presence' && e.userId === bot.user.id && e.online === true, 5000);
    expect((await presenceOf()).online).toBe(true);

    const offline = (e: { ev: string; userId?: unknown; online?: unknown }) => e.ev === 'presence' && e.userId === bot.user.id && e.online === false;
    const before = ann.events.filter(offline).length;
    watch.cancel();
    await ann.waitForEvents(offline, before + 1, 5000);
    expect(await presenceOf()).toMatchObject({ online: false, lastSeen: expect.any(Number) });
  });
});
