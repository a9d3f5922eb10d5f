import { describe, expect, it } from 'vitest';
import { conversationOfHash, hashOfConversation } from './conversation-link.js';

describe('conversation links', () => {
  it('round-trips any id, including characters a hash must escape', () => {
    for (const id of ['dm:alice:bob', 'g_01J9', 'a b#c%d/é']) expect(conversationOfHash(hashOfConversation(id))).toBe(id);
  });

  it('names no conversation for another hash, an empty id or a malformed escape', () => {
    expect(conversationOfHash('')).toBeUndefined();
    expect(conversationOfHash('#top')).toBeUndefined();
    expect(conversationOfHash('#c=')).toBeUndefined();
    expect(conversationOfHash('#c=%E0%A4%A')).toBeUndefined();
    expect(hashOfConversation(undefined)).toBe('');
  });
});
