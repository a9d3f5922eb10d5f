import { describe, expect, it } from 'vitest';
import { type Requester, RequestError, type User } from '@chat/client';
import { NameResolver } from './name-resolver.js';

/** A requester answering user.get from `answer`, recording what was asked. */
function requester(answer: (ids: string[], call: number) => Promise<User[]>) {
  const asked: string[][] = [];
  const r: Requester = {
    request: (async (_op: string, args: { userIds: string[] }) => {
      asked.push(args.userIds);
      return { users: await answer(args.userIds, asked.length) };
    }) as Requester['request'],
  };
  return { r, asked };
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('NameResolver', () => {
  it('asks once per id, in one request per turn, and never again for an id the server does not know', async () => {
    const names = new Map<string, string>();
    const { r, asked } = requester(async (ids) => ids.filter((id) => id !== 'ghost').map((id) => ({ id, name: id.toUpperCase() })));
    const resolver = new NameResolver(r, (id) => names.has(id), (users) => users.forEach((u) => names.set(u.id, u.name)));
    resolver.want(['ann', 'bob']);
    resolver.want(['bob', 'ghost']);
    await settle();
    expect(asked).toEqual([['ann', 'bob', 'ghost']]);
    expect(names).toEqual(new Map([['ann', 'ANN'], ['bob', 'BOB']]));
    resolver.want(['ann', 'ghost']);
    await settle();
    expect(asked).toHaveLength(1);
  });

  it('never asks about a string that is no user id (the server would refuse its whole batch)', async () => {
    const { r, asked } = requester(async () => []);
    const resolver = new NameResolver(r, () => false, () => {});
    resolver.want(['not an id!', 'ok-id']);
    await settle();
    expect(asked).toEqual([['ok-id']]);
  });

  it('after rate_limited, asks nothing until the wait the server named has passed, then asks', async () => {
    const { r, asked } = requester(async (_ids, call) => {
      if (call === 1) throw new RequestError('rate_limited', 'slow down', 300);
      return [];
    });
    const resolver = new NameResolver(r, () => false, () => {});
    resolver.want(['ann']);
    await settle();
    expect(asked).toHaveLength(1);
    // Shown again at once (every render asks): not sent while the wait lasts, then sent once.
    resolver.want(['ann']);
    resolver.want(['ann', 'bob']);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(asked).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(asked).toEqual([['ann'], ['ann', 'bob']]);
  });

  it('asks again after a failure such as a disconnect, and drops answers that arrive after stop()', async () => {
    let release!: (users: User[]) => void;
    const { r, asked } = requester(async (_ids, call) => {
      if (call === 1) throw new RequestError('disconnected', 'gone');
      return new Promise<User[]>((resolve) => (release = resolve));
    });
    const remembered: User[] = [];
    const resolver = new NameResolver(r, () => false, (users) => remembered.push(...users));
    resolver.want(['ann']);
    await settle();
    resolver.want(['ann']);
    await settle();
    expect(asked).toEqual([['ann'], ['ann']]);
    resolver.stop();
    release([{ id: 'ann', name: 'Ann' }]);
    await settle();
    expect(remembered).toEqual([]);
    resolver.want(['bob']);
    await settle();
    expect(asked).toHaveLength(2);
  });
});
