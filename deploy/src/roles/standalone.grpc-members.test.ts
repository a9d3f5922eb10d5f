import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Conversation, Member } from '@chat/proto';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { useGrpcClients, grpcFailure } from '@chat/testkit/grpc-client';

/** Views list at most this many members here, so a group of six is bounded. */
const VIEW_MEMBERS = 2;

describe('standalone: member paging over gRPC (ListMembers, member_count)', () => {
  const { system, login } = useStandalone({ VIEW_MEMBERS: String(VIEW_MEMBERS) });
  const grpc = useGrpcClients(() => system().grpcPort);

  it('bounds a view with member_count, pages every member once, and refuses a non-member PERMISSION_DENIED', async () => {
    const owner = await login('grpc pg owner');
    const others = [];
    for (let i = 0; i < 5; i++) others.push(await login(`grpc pg m${i}`));
    const outsider = await login('grpc pg outsider');
    const api = grpc(owner.token);
    const allIds = [owner, ...others].map((c) => c.user.id).sort();

    const { conversation } = await api.call<{ conversation: Conversation }>('createGroup', { title: 'big over gRPC', memberIds: others.map((o) => o.user.id) });
    expect(conversation.memberCount).toBe(6);
    expect(conversation.members).toHaveLength(VIEW_MEMBERS);
    expect(conversation.members[0]).toMatchObject({ userId: owner.user.id, role: 'owner' });
    const got = await grpc(others[4]!.token).call<{ conversation: Conversation }>('getConversation', { conversationId: conversation.id });
    expect(got.conversation.memberCount).toBe(6);
    expect(got.conversation.members.map((m) => m.userId)).toEqual([owner.user.id, others[4]!.user.id]);

    const seen: Member[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page: { members: Member[]; next?: string } = await api.call('listMembers', { conversationId: conversation.id, limit: 4, ...(after ? { after } : {}) });
      seen.push(...page.members);
      after = page.next;
      pages++;
    } while (after !== undefined);
    expect(pages).toBe(2);
    expect(seen.map((m) => m.userId)).toEqual(allIds);
    expect(seen.find((m) => m.userId === owner.user.id)).toMatchObject({ role: 'owner', readSeq: 0, deliveredSeq: 0 });

    expect(await grpcFailure(grpc(outsider.token).call('listMembers', { conversationId: conversation.id }))).toMatchObject({ code: status.PERMISSION_DENIED, chatCode: 'forbidden' });
    expect(await grpcFailure(api.call('listMembers', { conversationId: conversation.id, limit: 501 }))).toMatchObject({ code: status.INVALID_ARGUMENT, chatCode: 'bad_request' });
  });

  it('gives a DM member_count 2 and both members', async () => {
    const [ann, bob] = [await login('grpc pg ann'), await login('grpc pg bob')];
    const { conversation } = await grpc(ann.token).call<{ conversation: Conversation }>('openDm', { userId: bob.user.id });
    expect(conversation.memberCount).toBe(2);
    expect(conversation.members).toHaveLength(2);
  });
});
