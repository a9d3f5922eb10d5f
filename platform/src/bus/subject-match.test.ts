import { describe, expect, it } from 'vitest';
import { isValidPublishSubject, isValidSubscribeSubject, subjectMatches } from './subject-match.js';

describe('subjectMatches', () => {
  it.each([
    ['chat.shard.1', 'chat.shard.1'],
    ['chat.*.1', 'chat.shard.1'],
    ['chat.shard.*', 'chat.shard.1'],
    ['*.*.*', 'chat.shard.1'],
    ['chat.>', 'chat.shard'],
    ['chat.>', 'chat.shard.1'],
    ['chat.>', 'chat.user.alice.extra'],
    ['>', 'chat'],
    ['>', 'chat.shard.1'],
    ['*.shard.>', 'chat.shard.1.2'],
    ['*', 'chat'],
  ])('%s matches %s', (pattern, subject) => {
    expect(subjectMatches(pattern, subject)).toBe(true);
  });

  it.each([
    ['chat.shard.1', 'chat.shard.2'],
    ['chat.shard.1', 'chat.shard'],
    ['chat.shard', 'chat.shard.1'],
    ['chat.*', 'chat.shard.1'],
    ['chat.*', 'chat'],
    ['chat.*.1', 'chat.shard.2'],
    ['chat.>', 'chat'],
    ['chat.>', 'chats.shard'],
    ['*', 'chat.shard'],
    ['*.shard.>', 'chat.shard'],
    ['chat.shard.1', 'chat.shard.10'],
    ['chat.shard', 'chat.shardx'],
  ])('%s does not match %s', (pattern, subject) => {
    expect(subjectMatches(pattern, subject)).toBe(false);
  });

  it('treats `>` as a wildcard only in the last token', () => {
    expect(subjectMatches('a.>.c', 'a.b.c')).toBe(false);
  });
});

describe('isValidPublishSubject', () => {
  it.each(['a', 'chat.shard.255', 'chat.user.alice_B-1', '_INBOX.local.7', 'a.b.c.d.e.f'])('accepts %j', (subject) => {
    expect(isValidPublishSubject(subject)).toBe(true);
  });

  it.each(['', '.', 'a.', '.a', 'a..b', 'a.*', '*', 'a.>', '>', 'a.*.b', 'a b', 'a.b\n', '\ta', 'a.\u00a0'])('rejects %j', (subject) => {
    expect(isValidPublishSubject(subject)).toBe(false);
  });
});

describe('isValidSubscribeSubject', () => {
  it.each(['a', 'chat.shard.1', 'chat.*', '*', '>', 'chat.>', '*.*.>', 'chat.*.events'])('accepts %j', (subject) => {
    expect(isValidSubscribeSubject(subject)).toBe(true);
  });

  it.each(['', '.', 'a.', '.a', 'a..b', 'a.>.b', '>.a', '>.>', 'a b', 'a.*\n', ' a'])('rejects %j', (subject) => {
    expect(isValidSubscribeSubject(subject)).toBe(false);
  });
});
