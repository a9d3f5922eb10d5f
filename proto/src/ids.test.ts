import { describe, expect, it } from 'vitest';
import { dmConversationId, newGroupId, newMessageId } from './ids.js';
import { ID_PATTERN } from './subjects.js';

describe('dmConversationId', () => {
  it('is the same whichever user opens the DM', () => {
    expect(dmConversationId('alice', 'bob')).toBe(dmConversationId('bob', 'alice'));
  });

  it('is deterministic', () => {
    expect(dmConversationId('alice', 'bob')).toBe(dmConversationId('alice', 'bob'));
  });

  it('differs between distinct pairs, including pairs that concatenate alike', () => {
    const ids = [
      dmConversationId('alice', 'bob'),
      dmConversationId('alice', 'carol'),
      dmConversationId('bob', 'carol'),
      dmConversationId('ab', 'c'),
      dmConversationId('a', 'bc'),
      dmConversationId('alice', 'alice'),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is subject-safe and marked as a DM', () => {
    for (const [a, b] of [
      ['alice', 'bob'],
      ['x'.repeat(64), 'Y_-9'],
      ['a', 'b'],
    ] as const) {
      const id = dmConversationId(a, b);
      expect(id).toMatch(ID_PATTERN);
      expect(id).toMatch(/^d_/);
    }
  });
});

describe('newGroupId / newMessageId', () => {
  it('are subject-safe, prefixed and unique', () => {
    const groups = Array.from({ length: 1000 }, newGroupId);
    const messages = Array.from({ length: 1000 }, newMessageId);
    for (const id of groups) {
      expect(id).toMatch(ID_PATTERN);
      expect(id).toMatch(/^g_/);
    }
    for (const id of messages) {
      expect(id).toMatch(ID_PATTERN);
      expect(id).toMatch(/^m_/);
    }
    expect(new Set([...groups, ...messages]).size).toBe(2000);
  });
});
