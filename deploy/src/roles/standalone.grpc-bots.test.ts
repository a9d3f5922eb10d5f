import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ChatMessage, Conversation } from '@chat/proto';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { useGrpcClients } from '@chat/testkit/grpc-client';
import { runBotCommand } from '../cli/bot-command.js';

describe('standalone: bots on the gRPC API', () => {
  const { system, login } = useStandalone();
  const grpc = useGrpcClients(() => system().grpcPort);
  /** `chat bot ...` on the running system's DATA_DIR, as an operator would; the JSON line it printed. */
  const bot = async (...args: string[]) => {
    const lines: string[] = [];
    await runBotCommand(args, { DATA_DIR: system().dataDir }, (line) => lines.push(line));
    return JSON.parse(lines[0]!) as { userId: string; token: string };
  };

  it('a bot token calls like a user; once revoked, its next call and its open stream are refused UNAUTHENTICATED', async () => {
    const created = await bot('create', '--name', 'Summarizer');
    const alice = await login('bot friend alice');
    const api = grpc(created.token);
    const { conversation } = await api.call<{ conversation: Conversation }>('openDm', { userId: alice.user.id });
    const sent = await api.call<{ message: ChatMessage }>('sendMessage', { conversationId: conversation.id, clientMsgId: 'b-1', body: 'beep', attachments: [] });
    expect(sent.message.senderId).toBe(created.userId);
    const seen = await alice.waitForEvent((e) => e.ev === 'message.new');
    expect(seen.message).toMatchObject({ body: 'beep', senderId: created.userId });

    const watch = api.watch();
    await watch.registered;
    await bot('revoke', created.userId);
    const refused = await api.call('listConversations', {}).then(
      () => undefined,
      (err: { code: number }) => err.code,
    );
    expect(refused).toBe(status.UNAUTHENTICATED);
    // The open stream is re-checked every 5 s (DEFAULT_RECHECK_MS).
    const ended = await watch.ended;
    expect(ended.code).toBe(status.UNAUTHENTICATED);
  }, 20_000);
});
