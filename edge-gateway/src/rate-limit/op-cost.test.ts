import { describe, expect, it } from 'vitest';
import { createOpSchemas } from '@chat/proto';
import { opCost } from './op-cost.js';

const schemas = createOpSchemas();
const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);

describe('opCost', () => {
  it('charges one token for an ordinary op', () => {
    expect(opCost('ping', schemas.ping.parse({}))).toBe(1);
    expect(opCost('message.send', schemas['message.send'].parse({ conversationId: 'g_1', clientMsgId: 'c', body: 'hi' }))).toBe(1);
    expect(opCost('presence.get', schemas['presence.get'].parse({ userIds: ids(200) }))).toBe(1);
  });

  it('charges a group create and add_members by the members they list', () => {
    const create = (n: number) => opCost('conversation.create_group', schemas['conversation.create_group'].parse({ title: 't', members: ids(n) }));
    // One token more for each started 10 members.
    expect(create(0)).toBe(1);
    expect(create(1)).toBe(2);
    expect(create(10)).toBe(2);
    expect(create(11)).toBe(3);
    expect(create(50)).toBe(6);
    expect(create(999)).toBe(101);
    const add = (n: number) => opCost('conversation.add_members', schemas['conversation.add_members'].parse({ conversationId: 'g_1', userIds: ids(n) }));
    expect(add(1)).toBe(2);
    expect(add(999)).toBe(101);
  });

  it('charges the page reads by page size, defaults included', () => {
    const history = (args: object) => opCost('message.history', schemas['message.history'].parse({ conversationId: 'g_1', ...args }));
    expect(history({ limit: 1 })).toBe(1);
    expect(history({ limit: 24 })).toBe(1);
    expect(history({ limit: 25 })).toBe(2);
    expect(history({})).toBe(3); // the default page of 50
    expect(history({ limit: 200 })).toBe(9);
    expect(opCost('sync', schemas.sync.parse({}))).toBe(9); // the default limit of 200
    expect(opCost('sync', schemas.sync.parse({ limit: 500 }))).toBe(21);
    expect(opCost('conversation.list', schemas['conversation.list'].parse({ limit: 200 }))).toBe(9);
    // Member paging: a page of members as a page of messages; the default page is 100.
    const members = (args: object) => opCost('conversation.members', schemas['conversation.members'].parse({ conversationId: 'g_1', ...args }));
    expect(members({})).toBe(5);
    expect(members({ limit: 10 })).toBe(1);
    expect(members({ limit: 500 })).toBe(21);
    // Names by id: one token per full 25 ids on top of the frame's.
    const names = (n: number) => opCost('user.get', schemas['user.get'].parse({ userIds: Array.from({ length: n }, (_, i) => `u${i}`) }));
    expect(names(1)).toBe(1);
    expect(names(24)).toBe(1);
    expect(names(25)).toBe(2);
    expect(names(100)).toBe(5);
  });
});
