import { afterEach, describe, expect, it } from 'vitest';
import { PresenceClosedError } from '@chat/presence';
import type { PresenceBackend, TypingRef } from '@chat/presence';

/** The lease every contract test runs with. */
export const CONTRACT_TTL_MS = 30_000;
/** The typing lease every contract test runs with. */
export const CONTRACT_TYPING_TTL_MS = 6_000;
const TTL = CONTRACT_TTL_MS;
const TYPING_TTL = CONTRACT_TYPING_TTL_MS;
const T0 = 1_700_000_000_000;

/**
 * The model every PresenceBackend keeps (see presence-backend.ts), checked
 * through the interface only. `open` gives a fresh, empty backend with a
 * lease of CONTRACT_TTL_MS and a typing lease of CONTRACT_TYPING_TTL_MS; every backend a test opened is closed after it.
 */
export function runPresenceBackendContract(name: string, openBackend: () => Promise<PresenceBackend>): void {
  describe(`PresenceBackend contract: ${name}`, () => {
    const opened: PresenceBackend[] = [];
    const open = async (): Promise<PresenceBackend> => {
      const backend = await openBackend();
      opened.push(backend);
      return backend;
    };
    afterEach(async () => {
      for (const b of opened.splice(0)) await b.close();
    });

    it('reports an unknown user as offline, never seen', async () => {
      expect(await (await open()).get(['nobody'])).toEqual([{ userId: 'nobody', online: false, lastSeen: null }]);
    });

    it('brings a user online with their first session and offline with their last', async () => {
      const p = await open();
      expect(await p.sessionUp('alice', 's1', 'gw1', T0)).toEqual({ cameOnline: true });
      expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: true, lastSeen: null }]);
      expect(await p.sessionDown('alice', 's1', T0 + 5_000)).toEqual({ wentOffline: true, lastSeen: T0 + 5_000 });
      expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: false, lastSeen: T0 + 5_000 }]);
    });

    it('keeps a user online while any device is connected', async () => {
      const p = await open();
      expect(await p.sessionUp('alice', 'phone', 'gw1', T0)).toEqual({ cameOnline: true });
      expect(await p.sessionUp('alice', 'laptop', 'gw2', T0 + 1)).toEqual({ cameOnline: false });
      expect((await p.sessionDown('alice', 'phone', T0 + 2)).wentOffline).toBe(false);
      expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: true, lastSeen: null }]);
      expect(await p.sessionDown('alice', 'laptop', T0 + 3)).toEqual({ wentOffline: true, lastSeen: T0 + 3 });
      expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: false, lastSeen: T0 + 3 }]);
    });

    it('keeps the last lastSeen while the user is back online, and replaces it on the next disconnect', async () => {
      const p = await open();
      await p.sessionUp('alice', 's1', 'gw1', T0);
      await p.sessionDown('alice', 's1', T0 + 10);
      expect(await p.sessionUp('alice', 's2', 'gw1', T0 + 20)).toEqual({ cameOnline: true });
      expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: true, lastSeen: T0 + 10 }]);
      await p.sessionDown('alice', 's2', T0 + 30);
      expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: false, lastSeen: T0 + 30 }]);
    });

    it('treats a repeated sessionUp of the same session as a renewal', async () => {
      const p = await open();
      await p.sessionUp('alice', 's1', 'gw1', T0);
      expect(await p.sessionUp('alice', 's1', 'gw1', T0 + 1)).toEqual({ cameOnline: false });
      expect((await p.sessionDown('alice', 's1', T0 + 2)).wentOffline).toBe(true);
    });

    it('takes no user offline for a session it does not hold, and ignores a repeated down', async () => {
      const p = await open();
      expect(await p.sessionDown('ghost', 's1', T0)).toEqual({ wentOffline: false, lastSeen: T0 });
      // The down of a session whose up is not applied yet: the user was seen until then.
      expect(await p.get(['ghost'])).toEqual([{ userId: 'ghost', online: false, lastSeen: T0 }]);
      await p.sessionUp('alice', 's1', 'gw1', T0);
      expect((await p.sessionDown('alice', 'other', T0 + 1)).wentOffline).toBe(false);
      expect((await p.sessionDown('alice', 's1', T0 + 2)).wentOffline).toBe(true);
      expect((await p.sessionDown('alice', 's1', T0 + 3)).wentOffline).toBe(false);
      expect((await p.get(['alice']))[0]!.lastSeen).toBe(T0 + 2);
    });

    it('keeps a session ended when its up or a heartbeat arrives after its down (another instance was faster)', async () => {
      const p = await open();
      expect(await p.sessionDown('alice', 's1', T0 + 5)).toEqual({ wentOffline: false, lastSeen: T0 + 5 });
      expect(await p.sessionUp('alice', 's1', 'gw1', T0)).toEqual({ cameOnline: false });
      expect(await p.heartbeat('gw1', [{ userId: 'alice', sessionId: 's1' }], T0 + 1)).toEqual({ cameOnline: [] });
      expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: false, lastSeen: T0 + 5 }]);
      // Other sessions of the user are not affected.
      expect(await p.sessionUp('alice', 's2', 'gw1', T0 + 6)).toEqual({ cameOnline: true });
    });

    it('answers get() in the order asked, for many users', async () => {
      const p = await open();
      await p.sessionUp('bob', 's', 'gw1', T0);
      expect(await p.get(['carol', 'bob', 'carol'])).toEqual([
        { userId: 'carol', online: false, lastSeen: null },
        { userId: 'bob', online: true, lastSeen: null },
        { userId: 'carol', online: false, lastSeen: null },
      ]);
      expect(await p.get([])).toEqual([]);
    });

    it('expires sessions nobody renewed, taking their users offline with lastSeen at the last renewal', async () => {
      const p = await open();
      await p.sessionUp('alice', 's1', 'gw-crashed', T0);
      await p.sessionUp('bob', 's2', 'gw-crashed', T0 + 1_000);
      expect(await p.expire(T0 + TTL - 1)).toEqual([]);
      expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: true, lastSeen: null }]);
      expect(await p.expire(T0 + TTL)).toEqual([{ userId: 'alice', lastSeen: T0 }]);
      expect(await p.get(['alice', 'bob'])).toEqual([
        { userId: 'alice', online: false, lastSeen: T0 },
        { userId: 'bob', online: true, lastSeen: null },
      ]);
      expect(await p.expire(T0 + 10 * TTL)).toEqual([{ userId: 'bob', lastSeen: T0 + 1_000 }]);
      // Each transition is reported once.
      expect(await p.expire(T0 + 20 * TTL)).toEqual([]);
    });

    it('renews leases on heartbeat, so only the silent gateway’s users expire', async () => {
      const p = await open();
      await p.sessionUp('alice', 'a1', 'gw1', T0);
      await p.sessionUp('bob', 'b1', 'gw2', T0);
      expect(await p.heartbeat('gw1', [{ userId: 'alice', sessionId: 'a1' }], T0 + 20_000)).toEqual({ cameOnline: [] });
      expect(await p.expire(T0 + TTL)).toEqual([{ userId: 'bob', lastSeen: T0 }]);
      expect(await p.expire(T0 + 20_000 + TTL - 1)).toEqual([]);
      expect(await p.get(['alice', 'bob'])).toEqual([
        { userId: 'alice', online: true, lastSeen: null },
        { userId: 'bob', online: false, lastSeen: T0 },
      ]);
      expect(await p.expire(T0 + 20_000 + TTL)).toEqual([{ userId: 'alice', lastSeen: T0 + 20_000 }]);
    });

    it('keeps a multi-device user online when only one device’s gateway dies', async () => {
      const p = await open();
      await p.sessionUp('alice', 'phone', 'gw-dead', T0);
      await p.sessionUp('alice', 'laptop', 'gw-alive', T0);
      await p.heartbeat('gw-alive', [{ userId: 'alice', sessionId: 'laptop' }], T0 + 25_000);
      expect(await p.expire(T0 + TTL)).toEqual([]);
      expect((await p.get(['alice']))[0]!.online).toBe(true);
      // The phone's session is gone: the laptop leaving takes alice offline.
      expect(await p.sessionDown('alice', 'laptop', T0 + TTL + 1)).toEqual({ wentOffline: true, lastSeen: T0 + TTL + 1 });
    });

    it('restores the sessions of a gateway whose heartbeat comes back after expiry', async () => {
      const p = await open();
      await p.sessionUp('alice', 'a1', 'gw1', T0);
      await p.sessionUp('bob', 'b1', 'gw1', T0);
      await p.sessionUp('bob', 'b2', 'gw2', T0);
      await p.heartbeat('gw2', [{ userId: 'bob', sessionId: 'b2' }], T0 + 20_000);
      expect(await p.expire(T0 + TTL)).toEqual([{ userId: 'alice', lastSeen: T0 }]);
      const back = await p.heartbeat(
        'gw1',
        [
          { userId: 'alice', sessionId: 'a1' },
          { userId: 'bob', sessionId: 'b1' },
        ],
        T0 + TTL + 5,
      );
      expect(back).toEqual({ cameOnline: ['alice'] });
      expect((await p.get(['alice']))[0]).toEqual({ userId: 'alice', online: true, lastSeen: T0 });
    });

    it('counts users online through every transition: devices, downs, expiry and a late heartbeat', async () => {
      const p = await open();
      expect(await p.onlineUsers()).toBe(0);
      await p.sessionUp('alice', 'phone', 'gw1', T0);
      await p.sessionUp('alice', 'laptop', 'gw2', T0);
      await p.sessionUp('bob', 'b1', 'gw1', T0);
      await p.sessionUp('carol', 'c1', 'gw2', T0);
      expect(await p.onlineUsers(), 'a user with two devices counts once').toBe(3);
      await p.sessionDown('alice', 'phone', T0 + 1);
      expect(await p.onlineUsers()).toBe(3);
      await p.sessionDown('carol', 'c1', T0 + 2);
      await p.sessionDown('carol', 'c1', T0 + 3);
      expect(await p.onlineUsers(), 'a repeated down counts once').toBe(2);
      await p.heartbeat('gw2', [{ userId: 'alice', sessionId: 'laptop' }], T0 + 20_000);
      expect(await p.expire(T0 + TTL)).toEqual([{ userId: 'bob', lastSeen: T0 }]);
      expect(await p.onlineUsers()).toBe(1);
      expect(await p.heartbeat('gw1', [{ userId: 'bob', sessionId: 'b1' }], T0 + TTL + 1)).toEqual({ cameOnline: ['bob'] });
      expect(await p.onlineUsers(), 'restored by a late heartbeat').toBe(2);
      await p.expire(T0 + 10 * TTL);
      expect(await p.onlineUsers()).toBe(0);
    });

    it('never shortens a lease with a late, older report', async () => {
      const p = await open();
      await p.sessionUp('alice', 's1', 'gw1', T0 + 10_000);
      await p.heartbeat('gw1', [{ userId: 'alice', sessionId: 's1' }], T0);
      expect(await p.expire(T0 + TTL)).toEqual([]);
      expect(await p.expire(T0 + 10_000 + TTL)).toEqual([{ userId: 'alice', lastSeen: T0 + 10_000 }]);
    });

    it('rejects calls after close(), which is idempotent', async () => {
      const p = await open();
      await p.sessionUp('alice', 's1', 'gw1', T0);
      await p.close();
      await p.close();
      await expect(p.get(['alice'])).rejects.toBeInstanceOf(PresenceClosedError);
      await expect(p.sessionUp('alice', 's1', 'gw1', T0)).rejects.toBeInstanceOf(PresenceClosedError);
      await expect(p.heartbeat('gw1', [], T0)).rejects.toBeInstanceOf(PresenceClosedError);
      await expect(p.sessionDown('alice', 's1', T0)).rejects.toBeInstanceOf(PresenceClosedError);
      await expect(p.expire(T0)).rejects.toBeInstanceOf(PresenceClosedError);
      await expect(p.typingStart(typing('c1', 'alice', 's1'), T0)).rejects.toBeInstanceOf(PresenceClosedError);
      await expect(p.typingStop(typing('c1', 'alice', 's1'), T0)).rejects.toBeInstanceOf(PresenceClosedError);
      await expect(p.endSessionTyping('alice', 's1')).rejects.toBeInstanceOf(PresenceClosedError);
      await expect(p.expireTyping(T0)).rejects.toBeInstanceOf(PresenceClosedError);
    });

    describe('typing leases', () => {
      it('starts a lease, renews it on each start, and expires it once, a typing TTL after the last start', async () => {
        const p = await open();
        const ref = typing('c1', 'alice', 's1');
        expect(await p.typingStart(ref, T0)).toEqual({ outcome: 'started' });
        expect(await p.typingStart(ref, T0 + 2_000)).toEqual({ outcome: 'renewed' });
        expect(await p.expireTyping(T0 + TYPING_TTL)).toEqual([]);
        expect(await p.expireTyping(T0 + 2_000 + TYPING_TTL - 1)).toEqual([]);
        expect(await p.expireTyping(T0 + 2_000 + TYPING_TTL)).toEqual([ref]);
        // Reported once; a new start after that is a new lease.
        expect(await p.expireTyping(T0 + 10 * TYPING_TTL)).toEqual([]);
        expect(await p.typingStart(ref, T0 + 10 * TYPING_TTL)).toEqual({ outcome: 'started' });
      });

      it('keeps one lease per session and conversation', async () => {
        const p = await open();
        const refs = [typing('c1', 'alice', 's1'), typing('c2', 'alice', 's1'), typing('c1', 'alice', 's2'), typing('c1', 'bob', 's3')];
        for (const [i, ref] of refs.entries()) expect(await p.typingStart(ref, T0 + i)).toEqual({ outcome: 'started' });
        expect(await p.expireTyping(T0 + 1 + TYPING_TTL)).toEqual(refs.slice(0, 2));
        expect(sortRefs(await p.expireTyping(T0 + 3 + TYPING_TTL))).toEqual(sortRefs(refs.slice(2)));
      });

      it('never shortens a typing lease with a late, older start', async () => {
        const p = await open();
        const ref = typing('c1', 'alice', 's1');
        await p.typingStart(ref, T0 + 3_000);
        expect(await p.typingStart(ref, T0)).toEqual({ outcome: 'renewed' });
        expect(await p.expireTyping(T0 + TYPING_TTL)).toEqual([]);
        expect(await p.expireTyping(T0 + 3_000 + TYPING_TTL)).toEqual([ref]);
      });

      it('ends a lease on an explicit stop, which nothing reports again', async () => {
        const p = await open();
        const ref = typing('c1', 'alice', 's1');
        await p.typingStart(ref, T0);
        expect(await p.typingStop(ref, T0 + 1_000)).toEqual({ wasTyping: true });
        expect(await p.typingStop(ref, T0 + 1_001)).toEqual({ wasTyping: false });
        expect(await p.typingStop(typing('c9', 'nobody', 's9'), T0)).toEqual({ wasTyping: false });
        expect(await p.expireTyping(T0 + 10 * TYPING_TTL)).toEqual([]);
        expect(await p.endSessionTyping('alice', 's1')).toEqual([]);
      });

      it('ignores a start overtaken by a later stop, but not a start after it', async () => {
        const p = await open();
        const ref = typing('c1', 'alice', 's1');
        expect(await p.typingStop(ref, T0 + 10)).toEqual({ wasTyping: false });
        expect(await p.typingStart(ref, T0 + 5)).toEqual({ outcome: 'stale' });
        expect(await p.typingStart(ref, T0 + 10)).toEqual({ outcome: 'stale' });
        expect(await p.expireTyping(T0 + 10 * TYPING_TTL)).toEqual([]);
        expect(await p.typingStart(ref, T0 + 10 * TYPING_TTL)).toEqual({ outcome: 'started' });
        expect(await p.expireTyping(T0 + 11 * TYPING_TTL)).toEqual([ref]);
      });

      it('ends a session’s typing when it goes away, returning each lease once, and only that session’s', async () => {
        const p = await open();
        await p.sessionUp('alice', 's1', 'gw1', T0);
        const mine = [typing('c1', 'alice', 's1'), typing('c2', 'alice', 's1')];
        const others = [typing('c1', 'alice', 's2'), typing('c1', 'bob', 's1')];
        for (const ref of [...mine, ...others]) await p.typingStart(ref, T0);
        await p.sessionDown('alice', 's1', T0 + 1);
        expect(sortRefs(await p.endSessionTyping('alice', 's1'))).toEqual(sortRefs(mine));
        expect(await p.endSessionTyping('alice', 's1')).toEqual([]);
        expect(await p.endSessionTyping('carol', 'nope')).toEqual([]);
        expect(sortRefs(await p.expireTyping(T0 + TYPING_TTL))).toEqual(sortRefs(others));
      });

      it('refuses a start for a session already ended (its down overtook it), so the caller can announce the end', async () => {
        const p = await open();
        await p.sessionUp('alice', 's1', 'gw1', T0);
        await p.sessionDown('alice', 's1', T0 + 5);
        expect(await p.typingStart(typing('c1', 'alice', 's1'), T0 + 1)).toEqual({ outcome: 'sessionEnded' });
        expect(await p.endSessionTyping('alice', 's1')).toEqual([]);
        expect(await p.expireTyping(T0 + 10 * TYPING_TTL)).toEqual([]);
        // Another session of the user types as usual.
        expect(await p.typingStart(typing('c1', 'alice', 's2'), T0 + 6)).toEqual({ outcome: 'started' });
      });

      it('keeps typing leases apart from session leases', async () => {
        const p = await open();
        await p.typingStart(typing('c1', 'alice', 's1'), T0);
        expect(await p.get(['alice'])).toEqual([{ userId: 'alice', online: false, lastSeen: null }]);
        expect(await p.expire(T0 + 10 * TTL)).toEqual([]);
        await p.sessionUp('bob', 'b1', 'gw1', T0);
        expect(await p.expireTyping(T0 + TTL)).toEqual([typing('c1', 'alice', 's1')]);
        expect((await p.get(['bob']))[0]!.online).toBe(true);
      });
    });
  });
}

function typing(conversationId: string, userId: string, sessionId: string): TypingRef {
  return { conversationId, userId, sessionId };
}

function sortRefs(refs: TypingRef[]): TypingRef[] {
  const key = (r: TypingRef) => `${r.conversationId} ${r.userId} ${r.sessionId}`;
  return [...refs].sort((a, b) => key(a).localeCompare(key(b)));
}
