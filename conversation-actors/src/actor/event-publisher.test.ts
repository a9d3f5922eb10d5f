import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, Event, GROUPS_CREATED_SUBJECT, conversationEventsSubject, userEventsSubject } from '@chat/proto';
import { type BusMessage, type NatsBus, connectNatsBus, decodeBody } from '@chat/platform';
import { capturingLogger } from '@chat/testkit/capturing-logger';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { ActorMetrics } from '../metrics.js';
import type { MemberView } from '../store/store.js';
import { EventPublisher } from './event-publisher.js';

const MAX_PAYLOAD = 8 * 1024;
const VIEW_MEMBERS = 20;
let nats: NatsServerProcess;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false, maxPayload: MAX_PAYLOAD });
});

afterAll(async () => {
  await nats?.stop();
});

function view(id: string, members: number): Conversation {
  return {
    id,
    kind: 'group',
    title: 'big',
    members: Array.from({ length: members }, (_, i) => ({ userId: `user-${String(i).padStart(4, '0')}`, role: i === 0 ? 'owner' : 'member', readSeq: i % 7, deliveredSeq: i % 7 })),
    createdAt: 1,
    lastSeq: 40,
    lastMessage: undefined,
    readSeq: 0,
    deliveredSeq: 0,
    unread: 0,
    changeSeq: 3,
  };
}

/** Every member's own view, as getMemberViews gives them. */
function memberViews(conversation: Conversation): MemberView[] {
  return conversation.members.map((m, i) => {
    const read = m.readSeq ?? 0;
    return { userId: m.userId, view: { ...conversation, readSeq: read, deliveredSeq: read, unread: 40 - read, mentions: i % 5 === 0 ? 1 : undefined } };
  });
}

async function publisherOn(): Promise<{ bus: NatsBus; events: EventPublisher; lines: ReturnType<typeof capturingLogger>['lines']; metrics: ActorMetrics }> {
  const bus = await connectNatsBus({ servers: nats.url, name: 'publisher-test', logger: capturingLogger().logger });
  const { logger, lines } = capturingLogger();
  const metrics = new ActorMetrics(new Registry());
  return { bus, events: new EventPublisher({ bus, viewMembers: VIEW_MEMBERS, logger, failures: metrics.eventPublishFailures }), lines, metrics };
}

function collect(bus: NatsBus, subject: string): BusMessage[] {
  const got: BusMessage[] = [];
  bus.subscribe(subject, (msg) => got.push(msg));
  return got;
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('EventPublisher on a NATS server with a small max_payload', () => {
  it('splits a membership change’s views into events within the limit, every member’s marks once, in order, before the next event', async () => {
    const { bus, events, lines } = await publisherOn();
    try {
      expect(bus.maxPayload()).toBe(MAX_PAYLOAD);
      const conversation = view('big-1', 1500);
      const got = collect(bus, conversationEventsSubject('big-1'));
      await bus.flush();
      events.conversationViews('big-1', memberViews(conversation));
      events.receipt({ conversationId: 'big-1', userId: 'user-0001', readSeq: 40, deliveredSeq: 40 });
      await until(() => got.some((m) => decodeBody(m, Event).kind?.$case === 'receipt'));
      const decoded = got.map((m) => decodeBody(m, Event));
      expect(decoded.at(-1)!.kind?.$case).toBe('receipt');
      const chunks = decoded.slice(0, -1).map((e) => (e.kind?.$case === 'conversationViews' ? e.kind.value : undefined));
      expect(chunks.length).toBeGreaterThan(5);
      for (const [i, c] of chunks.entries()) {
        expect(got[i]!.data.length).toBeLessThanOrEqual(MAX_PAYLOAD);
        expect(c!.shared!.members).toHaveLength(VIEW_MEMBERS);
        expect(c!.shared!.unread).toBe(0);
      }
      const marks = chunks.flatMap((c) => c!.marks);
      expect(marks.map((m) => m.userId)).toEqual(conversation.members.map((m) => m.userId));
      expect(marks[3]).toEqual({ userId: 'user-0003', readSeq: 3, deliveredSeq: 3, unread: 37, role: 'member' });
      expect(marks[5]!.mentions).toBe(1);
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      await bus.close();
    }
  });

  it('splits a big new group’s announcement the same way', async () => {
    const { bus, events } = await publisherOn();
    try {
      const conversation = view('big-2', 1200);
      const got = collect(bus, GROUPS_CREATED_SUBJECT);
      await bus.flush();
      events.groupCreated({ ...conversation, lastSeq: 0, members: conversation.members.map((m) => ({ ...m, readSeq: 0, deliveredSeq: 0 })) });
      await until(() => got.reduce((n, m) => n + (decodeBody(m, Event).kind as { value: { marks: unknown[] } }).value.marks.length, 0) === 1200);
      expect(got.length).toBeGreaterThan(1);
      for (const m of got) expect(m.data.length).toBeLessThanOrEqual(MAX_PAYLOAD);
    } finally {
      await bus.close();
    }
  });

  it('logs and counts an event the bus refuses, with the conversation id, and goes on with the next', async () => {
    const { bus, events, lines, metrics } = await publisherOn();
    try {
      const got = collect(bus, userEventsSubject('user-0001'));
      await bus.flush();
      // A title bigger than the server's limit: no split can help.
      events.conversationUpdated('user-0001', { ...view('big-3', 3), title: 'x'.repeat(MAX_PAYLOAD) });
      events.conversationRemoved('user-0001', 'big-3');
      await until(() => got.length === 1);
      expect(decodeBody(got[0]!, Event).kind?.$case).toBe('conversationRemoved');
      const errors = lines.filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ conversationId: 'big-3', event: 'conversationUpdated', maxPayload: MAX_PAYLOAD, subject: userEventsSubject('user-0001') });
      expect(errors[0]!['bytes']).toBeGreaterThan(MAX_PAYLOAD);
      expect((await metrics.eventPublishFailures.get()).values.find((v) => v.labels['event'] === 'conversationUpdated')!.value).toBe(1);
    } finally {
      await bus.close();
    }
  });
});
