import { describe, expect, it } from 'vitest';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { startedClient, until } from './test-connection.js';

/**
 * The browser client's member paging (docs/protocol.md, "Member paging")
 * against a real standalone system whose views list at most two members.
 */
const sys = useStandalone({ VIEW_MEMBERS: '2', RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000' });

const signIn = (name: string) => startedClient(sys.system().baseUrl, name);

describe('ChatClient member paging', () => {
  it('pages in the members a bounded view leaves out, each once, and drops the pages when membership changes', async () => {
    const people = [];
    for (const name of ['Mp Owner', 'Mp One', 'Mp Two', 'Mp Three', 'Mp Four']) people.push(await signIn(name));
    const [owner, ...others] = people;
    try {
      const group = await owner!.client.createGroup('Paged', others.map((o) => o.user.id));
      const state = owner!.client.state;
      const view = () => state.conversation(group.id)!;
      expect(view()).toMatchObject({ memberCount: 5, membersTruncated: true });
      expect(state.membersOf(view())).toHaveLength(2);
      expect(state.hasMoreMembers(view())).toBe(true);

      // Two members a page: the rest come in pages until none remain.
      let pages = 0;
      while (await owner!.client.loadMembers(group.id, 2)) pages++;
      expect(pages).toBeGreaterThan(0);
      const ids = state.membersOf(view()).map((m) => m.userId);
      expect([...ids].sort()).toEqual(people.map((p) => p.user.id).sort());
      expect(new Set(ids).size).toBe(5);
      expect(state.hasMoreMembers(view())).toBe(false);
      expect(await owner!.client.loadMembers(group.id)).toBe(false);

      // Every member's own view lists them, whichever its place in view order.
      for (const o of others) {
        await until(() => o.client.state.conversation(group.id) !== undefined, `${o.user.name} to see the group`);
        expect(o.client.state.conversation(group.id)!.members.map((m) => m.userId)).toContain(o.user.id);
      }

      // A role change moves changeSeq: the pages are dropped, not shown out of date.
      const changeSeq = view().changeSeq;
      await owner!.client.setRole(group.id, others[3]!.user.id, 'admin');
      await until(() => view().changeSeq > changeSeq, 'the change to arrive');
      expect(state.membersOf(view())).toHaveLength(2);
      expect(state.membersOf(view()).map((m) => m.role)).toEqual(['owner', 'admin']);
      // Opening the group pages in a first page again (for @-mentions).
      await owner!.client.open(group.id);
      await until(() => state.membersOf(view()).length === 5, 'a first page after opening');
      // With a page held, opening the group again pages in nothing more (it is not a "show more").
      const renamed = view().changeSeq;
      await owner!.client.rename(group.id, 'Paged again');
      await until(() => view().changeSeq > renamed, 'the rename to arrive');
      expect(await owner!.client.loadMembers(group.id, 1)).toBe(true);
      const cursor = state.memberCursor(view());
      const held = state.membersOf(view()).length;
      await owner!.client.open(group.id);
      await new Promise((r) => setTimeout(r, 200));
      expect(state.memberCursor(view())).toBe(cursor);
      expect(state.membersOf(view())).toHaveLength(held);
    } finally {
      for (const p of people) p.client.stop();
    }
  });
});
