import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { type Requester, type User, usersById } from '@chat/client';
import type { ChatClient } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { grpcFailure, useGrpcClients } from '@chat/testkit/grpc-client';
import { runBotCommand } from '../cli/bot-command.js';

/** @chat/client's helpers over the test client's socket. */
const requester = (c: ChatClient): Requester => ({ request: (op, args) => c.call(op, args as Record<string, unknown>) as never });
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe('standalone: user.get and GetUsers (names by id)', () => {
  const { system, login } = useStandalone();
  const grpc = useGrpcClients(() => system().grpcPort);

  /** `chat bot create` on the running system's DATA_DIR, as an operator would. */
  async function createBot(name: string): Promise<{ userId: string; token: string }> {
    const lines: string[] = [];
    await runBotCommand(['create', '--name', name], { DATA_DIR: system().dataDir }, (line) => lines.push(line));
    return JSON.parse(lines[0]!) as { userId: string; token: string };
  }

  it('answers the known users among the ids (bots marked), leaves unknown ids out, and counts each id once', async () => {
    const ann = await login('Ug Ann');
    const bob = await login('Ug Bob');
    const bot = await createBot('Ug Summarizer');

    const { users } = await ann.call<{ users: User[] }>('user.get', { userIds: [bob.user.id, 'nobody-here', bot.userId, ann.user.id, bob.user.id] });
    expect([...users].sort(byId)).toEqual(
      [
        { id: ann.user.id, name: 'Ug Ann' },
        { id: bob.user.id, name: 'Ug Bob' },
        { id: bot.userId, name: 'Ug Summarizer', bot: true },
      ].sort(byId),
    );
    expect((await ann.call<{ users: User[] }>('user.get', { userIds: ['nobody-here'] })).users).toEqual([]);
  });

  it('refuses an empty list, more than 100 ids and ids that are not user ids, as bad_request', async () => {
    const cat = await login('Ug Cat');
    const ids = Array.from({ length: 101 }, (_, i) => `user-${i}`);
    for (const userIds of [[], ids, ['not an id!']]) {
      const reply = await cat.request('user.get', { userIds });
      expect(reply).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
  });

  it('charges one token more per full 25 ids: 100 ids cost 5', async () => {
    // A fresh user's bucket holds the default burst; asking 100 ids at a time empties it 5 tokens a call.
    const dee = await login('Ug Dee');
    const ids = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    let answered = 0;
    for (;;) {
      const reply = await dee.request('user.get', { userIds: ids });
      if (!reply.ok) {
        expect(reply.error?.code).toBe('rate_limited');
        expect(reply.error?.message).toContain('counts as 5 requests');
        break;
      }
      answered++;
    }
    // The default burst of 200 pays 40 such calls, less what refills while they run.
    expect(answered).toBeGreaterThanOrEqual(40);
    expect(answered).toBeLessThan(150); // at 1 token a call it would be 200 or more
  });

  it('usersById pages any number of ids in requests of 100', async () => {
    const eve = await login('Ug Eve');
    const ids = [...Array.from({ length: 230 }, (_, i) => `ghost-${i}`), eve.user.id];
    const sent: number[] = [];
    const counting: Requester = {
      request: (op, args) => {
        sent.push((args as { userIds: string[] }).userIds.length);
        return requester(eve).request(op, args);
      },
    };
    expect(await usersById(counting, [...ids, ...ids])).toEqual([{ id: eve.user.id, name: 'Ug Eve' }]);
    expect(sent).toEqual([100, 100, 31]);
  });

  it('GetUsers over gRPC answers the same, and refuses 101 ids INVALID_ARGUMENT', async () => {
    const fay = await login('Ug Fay');
    const gus = await login('Ug Gus');
    const api = grpc(fay.token);
    const { users } = await api.call<{ users: User[] }>('getUsers', { userIds: [gus.user.id, 'nobody-here'] });
    expect(users).toEqual([{ id: gus.user.id, name: 'Ug Gus' }]);
    const tooMany = Array.from({ length: 101 }, (_, i) => `user-${i}`);
    expect(await grpcFailure(api.call('getUsers', { userIds: tooMany }))).toMatchObject({ code: status.INVALID_ARGUMENT, chatCode: 'bad_request' });
  });
});
