import { describe, expect, it } from 'vitest';
import { type ChatMessage, DEFAULT_LIMITS, MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_PERSON } from '@chat/proto';
import { BadRequestError, ConflictError, ForbiddenError } from '../errors.js';
import { type MessageMutation, type Mutator, applyMutation } from './message-mutations.js';

const NOW = 1_700_000_500_000;

const msg = (fields: Partial<ChatMessage> = {}): ChatMessage => ({
  conversationId: 'g_1',
  seq: 4,
  id: 'm4',
  senderId: 'ann',
  clientMsgId: 'c4',
  body: 'hello',
  attachments: [],
  createdAt: 1_700_000_000_000,
  editedAt: undefined,
  deleted: false,
  reactions: {},
  changeSeq: 0,
  ...fields,
});
const edit = (body: string): MessageMutation => ({ $case: 'edit', value: { seq: 4, body } });
const del: MessageMutation = { $case: 'delete', value: { seq: 4 } };
const react = (emoji: string, add: boolean): MessageMutation => ({ $case: 'react', value: { seq: 4, emoji, add } });
const member = (userId: string, role: Mutator['role'] = 'member', kind: Mutator['kind'] = 'group'): Mutator => ({ userId, role, kind });
const apply = (m: ChatMessage, mutation: MessageMutation, by: Mutator) => applyMutation(m, mutation, by, NOW, DEFAULT_LIMITS);

describe('applyMutation', () => {
  it('edit: the sender only; sets body and editedAt; the same body is a no-op', () => {
    expect(apply(msg(), edit('hi'), member('ann'))).toEqual(msg({ body: 'hi', editedAt: NOW }));
    expect(apply(msg(), edit('hello'), member('ann'))).toBeNull();
    expect(() => apply(msg(), edit('hi'), member('bob', 'owner'))).toThrow(ForbiddenError);
  });

  it('edit: a blank body only for a message with attachments; never of a deleted message', () => {
    expect(() => apply(msg(), edit(' '), member('ann'))).toThrow(BadRequestError);
    const photo = { name: 'a.png', mediaType: 'image/png', size: 1, url: 'https://x/a.png' };
    expect(apply(msg({ attachments: [photo] }), edit(''), member('ann'))).toMatchObject({ body: '', attachments: [photo] });
    expect(() => apply(msg({ deleted: true, body: '' }), edit('back'), member('ann'))).toThrow(ConflictError);
  });

  it('delete: the sender, or an owner/admin of a group; clears body, attachments and reactions; twice is a no-op', () => {
    const reacted = msg({ reactions: { '👍': { ids: ['bob'] } } });
    const deleted = msg({ body: '', deleted: true });
    expect(apply(reacted, del, member('ann'))).toEqual(deleted);
    expect(apply(reacted, del, member('bob', 'owner'))).toEqual(deleted);
    expect(apply(reacted, del, member('bob', 'admin'))).toEqual(deleted);
    expect(() => apply(reacted, del, member('bob'))).toThrow(ForbiddenError);
    // A DM has no moderators.
    expect(() => apply(reacted, del, member('bob', 'owner', 'dm'))).toThrow(ForbiddenError);
    expect(apply(deleted, del, member('ann'))).toBeNull();
  });

  it('react: one per user per emoji, no-ops when nothing changes, an empty emoji disappears', () => {
    const one = apply(msg(), react('👍', true), member('bob'))!;
    expect(one.reactions).toEqual({ '👍': { ids: ['bob'] } });
    expect(apply(one, react('👍', true), member('bob'))).toBeNull();
    expect(apply(one, react('🎉', false), member('bob'))).toBeNull();
    const two = apply(one, react('👍', true), member('ann'))!;
    expect(two.reactions).toEqual({ '👍': { ids: ['bob', 'ann'] } });
    expect(apply(two, react('👍', false), member('bob'))!.reactions).toEqual({ '👍': { ids: ['ann'] } });
    expect(apply(one, react('👍', false), member('bob'))!.reactions).toEqual({});
    // The input is never modified.
    expect(one.reactions).toEqual({ '👍': { ids: ['bob'] } });
  });

  it('react: a message holds at most MAX_REACTIONS_PER_MESSAGE different emoji, and one person adds at most MAX_REACTIONS_PER_PERSON', () => {
    // 50 different emoji from 10 people, 5 each.
    let full = msg();
    for (let i = 0; i < MAX_REACTIONS_PER_MESSAGE; i++) full = apply(full, react(`e${i}`, true), member(`p${i % 10}`))!;
    expect(Object.keys(full.reactions)).toHaveLength(MAX_REACTIONS_PER_MESSAGE);
    expect(() => apply(full, react('one-more', true), member('bob'))).toThrow('a message holds at most 50 different reactions');
    // Joining an emoji already there, or taking one's own away, is still fine.
    expect(apply(full, react('e0', true), member('bob'))!.reactions['e0']!.ids).toEqual(['p0', 'bob']);
    expect(Object.keys(apply(full, react('e0', false), member('p0'))!.reactions)).toHaveLength(MAX_REACTIONS_PER_MESSAGE - 1);

    let mine = msg();
    for (let i = 0; i < MAX_REACTIONS_PER_PERSON; i++) mine = apply(mine, react(`m${i}`, true), member('bob'))!;
    expect(() => apply(mine, react('m-extra', true), member('bob'))).toThrow('one person may add at most 20 reactions to a message');
    // Others may still react, and bob may once he took one back.
    expect(apply(mine, react('m-extra', true), member('ann'))).not.toBeNull();
    expect(apply(apply(mine, react('m0', false), member('bob'))!, react('m-extra', true), member('bob'))).not.toBeNull();
  });

  it('react: refuses a deleted message and an invalid emoji', () => {
    expect(() => apply(msg({ deleted: true }), react('👍', true), member('bob'))).toThrow(ConflictError);
    expect(() => apply(msg(), react('a b', true), member('bob'))).toThrow(BadRequestError);
    expect(() => apply(msg(), react('', true), member('bob'))).toThrow(BadRequestError);
  });
});
