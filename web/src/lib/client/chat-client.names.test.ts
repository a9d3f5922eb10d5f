import { describe, expect, it } from 'vitest';
import { type User, devLogin } from '@chat/client';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { startedClient, until } from './test-connection.js';

/**
 * The browser client learns the names of the users it shows by id
 * (user.get, docs/protocol.md "Users by id"), against a real standalone
 * system: every member of a big group, and a sender who is no member any more.
 */
const sys = useStandalone({ RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000' });

const signIn = (name: string) => startedClient(sys.system().baseUrl, name);

describe('ChatClient names by id', () => {
  it('knows the name of every member of a 30-member group it joins, without a search', async () => {
    const owner = await signIn('Nm Owner');
    const joiner = await signIn('Nm Joiner');
    const others: User[] = [];
    for (let i = 0; i < 28; i++) others.push((await devLogin(`Nm Person ${i}`, sys.system().baseUrl)).user);
    try {
      const group = await owner.client.createGroup('Names', [joiner.user.id, ...others.map((u) => u.id)]);
      const state = joiner.client.state;
      await until(() => state.conversation(group.id) !== undefined, 'the joiner to see the group');
      // Every member's name arrives (the old prefix search stopped after 20).
      await until(() => others.every((u) => state.hasName(u.id)), 'all 28 names');
      for (const u of others) expect(state.nameOf(u.id)).toBe(u.name);
      expect(state.nameOf(owner.user.id)).toBe('Nm Owner');
    } finally {
      owner.client.stop();
      joiner.client.stop();
    }
  });

  it('learns the name of a message’s sender who has left, once the message is shown', async () => {
    const ann = await signIn('Nm Ann');
    const zed = await signIn('Nm Zed');
    try {
      const group = await ann.client.createGroup('Left', [zed.user.id]);
      await until(() => zed.client.state.conversation(group.id) !== undefined, 'Zed to see the group');
      zed.client.send(group.id, 'bye all');
      await until(() => ann.client.state.conversation(group.id)?.lastMessage?.body === 'bye all', 'the message');
      await zed.client.removeMember(group.id, zed.user.id);
      await until(() => ann.client.state.conversation(group.id)?.memberCount === 1, 'Zed to be gone');
      ann.client.stop();

      // A fresh client of Ann's: nothing in its state names Zed but the message.
      const again = await signIn('Nm Ann');
      const state = again.client.state;
      try {
        await again.client.open(group.id);
        const message = state.conversation(group.id)?.lastMessage;
        expect(message?.senderId).toBe(zed.user.id);
        expect(state.hasName(zed.user.id)).toBe(false);
        expect(state.nameOf(zed.user.id)).toBe(zed.user.id); // shown by id, and asked for
        await until(() => state.hasName(zed.user.id), 'Zed’s name');
        expect(state.nameOf(zed.user.id)).toBe('Nm Zed');
      } finally {
        again.client.stop();
      }
    } finally {
      zed.client.stop();
    }
  });
});
