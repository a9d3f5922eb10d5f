import { describe, expect, it } from 'vitest';
import { createOpSchemas, describeZodError, envelopeSchema } from './frames.js';
import { DEFAULT_LIMITS } from './limits.js';

const ops = createOpSchemas();

function attachment(overrides: Record<string, unknown> = {}) {
  return { name: 'cat.png', mediaType: 'image/png', size: 1234, url: 'https://files.example.com/cat.png', ...overrides };
}

function send(overrides: Record<string, unknown> = {}) {
  return { id: 'r1', op: 'message.send', conversationId: 'g_abc-123', clientMsgId: 'c1', body: 'hello', ...overrides };
}

describe('envelopeSchema', () => {
  it('accepts an op with or without an id', () => {
    expect(envelopeSchema.safeParse({ op: 'ping' }).success).toBe(true);
    expect(envelopeSchema.safeParse({ id: 'x'.repeat(64), op: 'ping' }).success).toBe(true);
  });

  it('rejects a missing op, an empty id or an id over 64 characters', () => {
    expect(envelopeSchema.safeParse({ id: '1' }).success).toBe(false);
    expect(envelopeSchema.safeParse({ id: '', op: 'ping' }).success).toBe(false);
    expect(envelopeSchema.safeParse({ id: 'x'.repeat(65), op: 'ping' }).success).toBe(false);
  });
});

describe('createOpSchemas: valid frames', () => {
  it('ping', () => {
    expect(ops.ping.parse({ id: '1', op: 'ping' })).toEqual({});
  });

  it('user.search, with the default limit', () => {
    expect(ops['message.search'].parse({ query: 'hel' })).toEqual({ query: 'hel', limit: 20 });
    expect(ops['message.search'].parse({ query: 'hello ', conversationId: 'g_x', before: 'czE', limit: 50 })).toEqual({
      query: 'hello ',
      conversationId: 'g_x',
      before: 'czE',
      limit: 50,
    });
    for (const bad of [{}, { query: '' }, { query: '  ' }, { query: 'x', limit: 51 }, { query: 'x', limit: 0 }, { query: 'x'.repeat(257) }, { query: 'x', before: '' }]) {
      expect(ops['message.search'].safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(ops['user.search'].parse({ prefix: 'al' })).toEqual({ prefix: 'al', limit: 20 });
    expect(ops['user.search'].parse({ prefix: '', limit: 100 })).toEqual({ prefix: '', limit: 100 });
  });

  it('conversation.open_dm', () => {
    expect(ops['conversation.open_dm'].parse({ userId: 'bob_2-x' })).toEqual({ userId: 'bob_2-x' });
  });

  it('conversation.create_group, trimming the title', () => {
    expect(ops['conversation.create_group'].parse({ title: '  Team  ', members: ['alice', 'bob'] })).toEqual({
      title: 'Team',
      members: ['alice', 'bob'],
    });
  });

  it('conversation.list, with the default limit', () => {
    expect(ops['conversation.list'].parse({})).toEqual({ limit: 50 });
    expect(ops['conversation.list'].parse({ limit: 10, before: 'cursor-1' })).toEqual({ limit: 10, before: 'cursor-1' });
  });

  it('conversation.members (member paging), with the default limit, the maximum and a cursor', () => {
    expect(ops['conversation.members'].parse({ conversationId: 'g_1' })).toEqual({ conversationId: 'g_1', limit: 100 });
    expect(ops['conversation.members'].parse({ conversationId: 'g_1', after: 'bob', limit: 500 })).toEqual({ conversationId: 'g_1', after: 'bob', limit: 500 });
    for (const bad of [{}, { conversationId: 'g.1' }, { conversationId: 'g_1', limit: 0 }, { conversationId: 'g_1', limit: 501 }, { conversationId: 'g_1', limit: 1.5 }, { conversationId: 'g_1', after: '' }, { conversationId: 'g_1', after: 'x'.repeat(129) }]) {
      expect(ops['conversation.members'].safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('conversation.get', () => {
    expect(ops['conversation.get'].parse({ conversationId: 'd_XYZ' })).toEqual({ conversationId: 'd_XYZ' });
  });

  it('message.send, with attachments defaulting to none and unknown keys dropped', () => {
    expect(ops['message.send'].parse(send())).toEqual({ conversationId: 'g_abc-123', clientMsgId: 'c1', body: 'hello', attachments: [] });
  });

  it('message.send with a body of exactly the limit', () => {
    expect(ops['message.send'].safeParse(send({ body: 'x'.repeat(DEFAULT_LIMITS.maxBodyChars) })).success).toBe(true);
  });

  it('message.send with attachments and no body', () => {
    const parsed = ops['message.send'].parse(send({ body: '', attachments: [attachment({ width: 10, height: 20 })] }));
    expect(parsed.attachments).toEqual([attachment({ width: 10, height: 20 })]);
  });

  it('message.history, with the default limit and the maximum', () => {
    expect(ops['message.history'].parse({ conversationId: 'c' })).toEqual({ conversationId: 'c', limit: 50 });
    expect(ops['message.history'].parse({ conversationId: 'c', before: 10, after: 0, limit: 200 })).toEqual({
      conversationId: 'c',
      before: 10,
      after: 0,
      limit: 200,
    });
  });

  it('sync, with defaults', () => {
    expect(ops.sync.parse({})).toEqual({ since: {}, limit: 200 });
    expect(ops.sync.parse({ since: { c1: 3, 'd_a-b': 0 }, limit: 500 })).toEqual({ since: { c1: 3, 'd_a-b': 0 }, limit: 500 });
  });

  it('sync with changesSince (protocol extension): absent stays absent, given is kept', () => {
    expect('changesSince' in ops.sync.parse({ since: { c1: 3 } })).toBe(false);
    expect(ops.sync.parse({ since: { c1: 3 }, changesSince: { c1: 2, 'd_a-b': 0 } })).toEqual({
      since: { c1: 3 },
      limit: 200,
      changesSince: { c1: 2, 'd_a-b': 0 },
    });
  });
});

describe('createOpSchemas: invalid frames', () => {
  it('rejects a body over the limit (4001 characters by default) and says why', () => {
    const result = ops['message.send'].safeParse(send({ body: 'x'.repeat(4001) }));
    expect(result.success).toBe(false);
    expect(describeZodError(result.error!)).toContain('body: body longer than 4000 characters');
  });

  it.each([['conversationId'], ['clientMsgId'], ['body']])('rejects message.send without %s', (field) => {
    const frame: Record<string, unknown> = send();
    delete frame[field];
    const result = ops['message.send'].safeParse(frame);
    expect(result.success).toBe(false);
    expect(result.error!.issues.some((i) => i.path[0] === field)).toBe(true);
  });

  it('rejects missing required fields on other ops', () => {
    expect(ops['user.search'].safeParse({}).success).toBe(false);
    expect(ops['conversation.open_dm'].safeParse({}).success).toBe(false);
    expect(ops['conversation.create_group'].safeParse({ title: 't' }).success).toBe(false);
    expect(ops['conversation.create_group'].safeParse({ members: [] }).success).toBe(false);
    expect(ops['conversation.get'].safeParse({}).success).toBe(false);
    expect(ops['message.history'].safeParse({ limit: 5 }).success).toBe(false);
  });

  it.each(['a.b.>', 'a b', '*', 'a.b', '>', '', 'x'.repeat(129), 'é'])('rejects conversation id %j, which could reach a subject', (id) => {
    expect(ops['conversation.get'].safeParse({ conversationId: id }).success).toBe(false);
    expect(ops['message.send'].safeParse(send({ conversationId: id })).success).toBe(false);
    expect(ops['message.history'].safeParse({ conversationId: id }).success).toBe(false);
    expect(ops.sync.safeParse({ since: { [id]: 1 } }).success).toBe(false);
    expect(ops.sync.safeParse({ changesSince: { [id]: 1 } }).success).toBe(false);
  });

  it.each(['a.b', 'a b', '*', 'x'.repeat(65)])('rejects user id %j', (userId) => {
    expect(ops['conversation.open_dm'].safeParse({ userId }).success).toBe(false);
    expect(ops['conversation.create_group'].safeParse({ title: 't', members: [userId] }).success).toBe(false);
  });

  it.each(['image/png', 'IMAGE/JPEG', 'video/mp4', 'audio/ogg', 'application/pdf', 'text/plain'])('allows media type %s', (mediaType) => {
    expect(ops['message.send'].safeParse(send({ attachments: [attachment({ mediaType })] })).success).toBe(true);
  });

  it.each(['application/x-msdownload', 'text/html', 'application/javascript', 'image', 'image/', '/png', '', 'image/*', 'image/png; x=1', 'image/ png'])(
    'refuses media type %j',
    (mediaType) => {
      const result = ops['message.send'].safeParse(send({ attachments: [attachment({ mediaType })] }));
      expect(result.success).toBe(false);
    },
  );

  it('says which attachment has a refused media type', () => {
    const result = ops['message.send'].safeParse(send({ attachments: [attachment(), attachment({ mediaType: 'application/x-msdownload' })] }));
    expect(describeZodError(result.error!)).toContain('attachments.1.mediaType: media type not allowed');
  });

  it('rejects more attachments than the limit', () => {
    const ten = Array.from({ length: 10 }, () => attachment());
    expect(ops['message.send'].safeParse(send({ attachments: ten })).success).toBe(true);
    const result = ops['message.send'].safeParse(send({ attachments: [...ten, attachment()] }));
    expect(result.success).toBe(false);
    expect(describeZodError(result.error!)).toContain('at most 10 attachments');
  });

  it('rejects a malformed attachment', () => {
    for (const bad of [attachment({ url: 'not a url' }), attachment({ size: -1 }), attachment({ name: '' }), attachment({ width: 0 })]) {
      expect(ops['message.send'].safeParse(send({ attachments: [bad] })).success).toBe(false);
    }
  });

  it('rejects an attachment over 100 MiB, and a url that is not http(s)', () => {
    expect(ops['message.send'].safeParse(send({ attachments: [attachment({ size: 100 * 1024 * 1024 })] })).success).toBe(true);
    const big = ops['message.send'].safeParse(send({ attachments: [attachment({ size: 100 * 1024 * 1024 + 1 })] }));
    expect(describeZodError(big.error!)).toContain('an attachment is at most 104857600 bytes');
    expect(ops['message.send'].safeParse(send({ attachments: [attachment({ url: 'http://localhost:8080/a.png' })] })).success).toBe(true);
    for (const url of ['javascript:alert(1)', 'data:image/png;base64,AAAA', 'ftp://files.example/a', 'file:///etc/passwd']) {
      expect(ops['message.send'].safeParse(send({ attachments: [attachment({ url })] })).success, url).toBe(false);
    }
  });

  it('receipt.mark takes deliveredSeq, readSeq or both, as non-negative integers', () => {
    const mark = ops['receipt.mark'];
    for (const ok of [{ readSeq: 0 }, { deliveredSeq: 3 }, { deliveredSeq: 3, readSeq: 2 }]) {
      expect(mark.safeParse({ conversationId: 'c', ...ok }).success, JSON.stringify(ok)).toBe(true);
    }
    for (const bad of [{}, { readSeq: -1 }, { deliveredSeq: 1.5 }, { readSeq: '2' }, { readSeq: null }]) {
      expect(mark.safeParse({ conversationId: 'c', ...bad }).success, JSON.stringify(bad)).toBe(false);
    }
    expect(mark.safeParse({ conversationId: 'bad id', readSeq: 1 }).success).toBe(false);
  });

  it('rejects an empty or blank body without attachments', () => {
    for (const body of ['', '   \n\t']) {
      const result = ops['message.send'].safeParse(send({ body }));
      expect(result.success).toBe(false);
      expect(describeZodError(result.error!)).toContain('a message needs a body or an attachment');
    }
  });

  it('rejects a history limit over 200, or under 1, or fractional', () => {
    for (const limit of [201, 0, 1.5]) {
      expect(ops['message.history'].safeParse({ conversationId: 'c', limit }).success).toBe(false);
    }
  });

  it('rejects negative or fractional seqs', () => {
    expect(ops['message.history'].safeParse({ conversationId: 'c', before: -1 }).success).toBe(false);
    expect(ops['message.history'].safeParse({ conversationId: 'c', after: 1.5 }).success).toBe(false);
    expect(ops.sync.safeParse({ since: { c: -1 } }).success).toBe(false);
    expect(ops.sync.safeParse({ changesSince: { c: -1 } }).success).toBe(false);
    expect(ops.sync.safeParse({ changesSince: { c: 0.5 } }).success).toBe(false);
  });

  it('rejects a blank or over-long group title', () => {
    expect(ops['conversation.create_group'].safeParse({ title: '   ', members: [] }).success).toBe(false);
    expect(ops['conversation.create_group'].safeParse({ title: 'x'.repeat(101), members: [] }).success).toBe(false);
    expect(ops['conversation.create_group'].safeParse({ title: 'x'.repeat(100), members: [] }).success).toBe(true);
  });

  it('rejects wrongly typed fields', () => {
    expect(ops['message.send'].safeParse(send({ body: 42 })).success).toBe(false);
    expect(ops['message.history'].safeParse({ conversationId: 'c', limit: '10' }).success).toBe(false);
    expect(ops['conversation.create_group'].safeParse({ title: 't', members: 'alice' }).success).toBe(false);
  });
});

describe('createOpSchemas: custom limits', () => {
  const custom = createOpSchemas({
    ...DEFAULT_LIMITS,
    maxBodyChars: 10,
    maxAttachments: 1,
    maxTitleChars: 5,
    maxGroupMembers: 2,
    maxHistoryLimit: 20,
    maxSyncLimit: 30,
    allowedMediaTypes: ['application/pdf'],
  });

  it('applies the body limit', () => {
    expect(custom['message.send'].safeParse(send({ body: 'x'.repeat(10) })).success).toBe(true);
    const result = custom['message.send'].safeParse(send({ body: 'x'.repeat(11) }));
    expect(result.success).toBe(false);
    expect(describeZodError(result.error!)).toContain('body longer than 10 characters');
  });

  it('applies the attachment count and media type limits', () => {
    const pdf = attachment({ mediaType: 'application/pdf' });
    expect(custom['message.send'].safeParse(send({ attachments: [pdf] })).success).toBe(true);
    expect(custom['message.send'].safeParse(send({ attachments: [pdf, pdf] })).success).toBe(false);
    expect(custom['message.send'].safeParse(send({ attachments: [attachment()] })).success).toBe(false);
  });

  it('applies the title, group size, history and sync limits', () => {
    expect(custom['conversation.create_group'].safeParse({ title: 'x'.repeat(6), members: [] }).success).toBe(false);
    expect(custom['conversation.create_group'].safeParse({ title: 'team', members: ['a', 'b', 'c'] }).success).toBe(false);
    expect(custom['conversation.create_group'].safeParse({ title: 'team', members: ['a', 'b'] }).success).toBe(true);
    expect(custom['message.history'].safeParse({ conversationId: 'c', limit: 21 }).success).toBe(false);
    expect(custom['message.history'].safeParse({ conversationId: 'c', limit: 20 }).success).toBe(true);
    expect(custom.sync.safeParse({ limit: 31 }).success).toBe(false);
  });

  it('leaves the default schemas unchanged', () => {
    expect(ops['message.send'].safeParse(send({ body: 'x'.repeat(11) })).success).toBe(true);
  });
});

describe('createOpSchemas: message.edit, message.delete, message.react', () => {
  const target = { conversationId: 'g_abc', seq: 3 };

  it('accepts valid frames', () => {
    expect(ops['message.edit'].parse({ ...target, body: 'fixed' })).toEqual({ ...target, body: 'fixed' });
    expect(ops['message.delete'].parse(target)).toEqual(target);
    expect(ops['message.react'].parse({ ...target, emoji: '👍', add: true })).toEqual({ ...target, emoji: '👍', add: true });
    // Emoji sequences joined by ZWJ, flags and skin tones are one reaction each.
    for (const emoji of ['👨‍👩‍👧‍👦', '🇫🇷', '👍🏽', ':party:', 'x'.repeat(DEFAULT_LIMITS.maxEmojiChars)]) {
      expect(ops['message.react'].safeParse({ ...target, emoji, add: false }).success, emoji).toBe(true);
    }
  });

  it('applies the body limit to edits', () => {
    expect(ops['message.edit'].safeParse({ ...target, body: 'x'.repeat(DEFAULT_LIMITS.maxBodyChars) }).success).toBe(true);
    const result = ops['message.edit'].safeParse({ ...target, body: 'x'.repeat(DEFAULT_LIMITS.maxBodyChars + 1) });
    expect(describeZodError(result.error!)).toContain('body longer than 4000 characters');
  });

  it('rejects a missing, zero, negative or fractional seq', () => {
    for (const seq of [undefined, 0, -1, 1.5, '2']) {
      expect(ops['message.delete'].safeParse({ conversationId: 'g_abc', seq }).success, String(seq)).toBe(false);
    }
  });

  it.each(['', ' ', '👍 ', 'a\tb', '\n', '\u0000', '\u007f', '\u00a0', '\u2028', '\ud83d', 'x'.repeat(DEFAULT_LIMITS.maxEmojiChars + 1)])(
    'rejects emoji %j',
    (emoji) => {
      const result = ops['message.react'].safeParse({ ...target, emoji, add: true });
      expect(result.success).toBe(false);
      expect(describeZodError(result.error!)).toContain('emoji');
    },
  );

  it('requires add to be a boolean', () => {
    expect(ops['message.react'].safeParse({ ...target, emoji: '👍' }).success).toBe(false);
    expect(ops['message.react'].safeParse({ ...target, emoji: '👍', add: 'yes' }).success).toBe(false);
  });
});
