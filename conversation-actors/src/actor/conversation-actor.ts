import { ACTOR_OP_LABELS, type ActorReply, type ActorRequest, type ChatMessage, type Conversation, type MarkReceipt, type ProtocolLimits, type User, boundView } from '@chat/proto';
import { type Clock, type Logger, SpanKind, activeSpanContext, startSpan, withContext } from '@chat/platform';
import type { ChatStore, ConversationRecord, MessageQuery, NewConversation } from '../store/store.js';
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  NotOwnedError,
  SeqConflictError,
  StaleEpochError,
  StoreUnavailableError,
  errorCodeOf,
  isNoRetry,
} from '../errors.js';
import type { ActorMetrics } from '../metrics.js';
import type { EventPublisher } from './event-publisher.js';
import { fitPage } from '../store/reply-budget.js';
import { Lanes, OUT_OF_ORDER } from './lanes.js';
import { Mailbox } from './mailbox.js';
import { findMember } from './member-index.js';
import { type MembershipOp, changeMembership, publishMembershipChange } from './membership.js';
import { type MessageMutation, mutateMessage } from './message-mutations.js';
import { readMemberPage } from './member-page.js';
import { markReceipt } from './receipts.js';
import { type Task, type TaskTrace, failure } from './replies.js';
import { SendCommit } from './send-commit.js';
import { type StreamTimings, Streams } from './streams.js';
import { newConversationView } from './views.js';
import { readMessageAt } from '../store/read-message.js';

// The host builds its own failure replies with this; it lives in replies.ts now.
export { failure } from './replies.js';

export interface ActorDeps {
  store: ChatStore;
  events: EventPublisher;
  clock: Clock;
  logger: Logger;
  metrics: ActorMetrics;
  limits: ProtocolLimits;
  /**
   * The epoch this host holds the conversation's shard with, read at every
   * write; undefined when it no longer (validly) owns it, and then nothing is written.
   */
  epoch(): number | undefined;
  /** Called when the store fenced this actor off: another host owns the conversation now. */
  onFenced(conversationId: string): void;
  mailboxCapacity: number;
  maxBatch: number;
  recentKeys: number;
  streams: StreamTimings;
  /** Bytes a history or thread page's messages may take in its reply now (pageBudget of the bus's limit; Infinity in process). */
  pageBytes(): number;
}

type Head = { state: 'unloaded' } | { state: 'absent' } | { state: 'present'; record: ConversationRecord };

/**
 * One conversation's actor: a mailbox processed strictly one batch at a time.
 * It owns the conversation's head (lastSeq, members) and allocates seqs; it
 * checks membership, dedupes on (senderId, clientMsgId), persists, and only
 * then replies and publishes events. Consecutive sends waiting in the mailbox
 * are committed in one store write (group commit), in arrival order.
 */
export class ConversationActor {
  readonly #mailbox: Mailbox<Task>;
  /** Per session: the last lane seq answered (see ActorRequest.lane_after). */
  readonly #lanes = new Lanes();
  /** The group-commit send path (send-commit.ts). */
  readonly #sends: SendCommit;
  /** Streaming messages growing here (streams.ts). */
  readonly #streams: Streams;
  #head: Head = { state: 'unloaded' };
  #running = false;
  #stopped = false;
  #lastActive: number;
  #idleWaiters: (() => void)[] = [];
  /** Set by a handler whose events must go out after its reply (message.updated). */
  #afterAnswer: (() => void) | undefined;

  constructor(
    readonly conversationId: string,
    private readonly deps: ActorDeps,
  ) {
    this.#mailbox = new Mailbox(deps.mailboxCapacity);
    this.#sends = new SendCommit({
      conversationId,
      store: deps.store,
      events: deps.events,
      clock: deps.clock,
      metrics: deps.metrics,
      lanes: this.#lanes,
      recentKeys: deps.recentKeys,
      answer: (task, reply) => this.#answer(task, reply),
      requireEpoch: () => this.#requireEpoch(),
      afterWriteFailure: (err) => this.#afterWriteFailure(err),
      toFailure: (err, req) => this.#toFailure(err, req),
      streamStarted: (message) => this.#streams.started(message),
      threadMoved: (summary, changeSeq) => this.#streams.threadMoved(summary, changeSeq),
    });
    this.#streams = new Streams({
      conversationId,
      store: deps.store,
      events: deps.events,
      clock: deps.clock,
      limits: deps.limits,
      timings: deps.streams,
      requireEpoch: () => this.#requireEpoch(),
      enqueue: (req) => this.#enqueueInternal(req),
      afterAnswer: (publish) => (this.#afterAnswer = publish),
    });
    this.#lastActive = deps.clock.now();
  }

  get depth(): number {
    return this.#mailbox.depth;
  }

  /** Whether the actor has nothing queued or running and has been quiet since `before`. */
  isIdleSince(before: number): boolean {
    return !this.#running && this.#mailbox.depth === 0 && this.#streams.open === 0 && this.#lastActive < before;
  }

  /**
   * Queues a request; the promise always resolves with a reply (failures are
   * replies too). Throws OverloadedError synchronously when the mailbox is full.
   */
  enqueue(req: ActorRequest, trace?: TaskTrace): Promise<ActorReply> {
    if (this.#stopped) return Promise.resolve(failure('unavailable', 'conversation is moving to another host; retry'));
    let resolve!: (reply: ActorReply) => void;
    const reply = new Promise<ActorReply>((r) => (resolve = r));
    // Outside the Promise executor, so a full mailbox throws to the caller instead of rejecting.
    this.#mailbox.push({ req, enqueuedAt: this.deps.clock.now(), resolve, trace });
    if (trace) trace.wait = startSpan('mailbox wait', { kind: SpanKind.INTERNAL, parent: trace.ctx });
    this.deps.metrics.mailboxDepth.inc();
    if (!this.#running) void this.#run();
    return reply;
  }

  /**
   * Picks up message `seq`, left streaming by `senderId` (its producer) with
   * an actor that went away: it is tracked here like a stream this actor
   * took over, so it grows on the producer's next append or, if none comes,
   * ends truncated after the idle time. An empty append of the producer's,
   * through the mailbox, so it runs in order with everything else.
   */
  resumeStream(seq: number, senderId: string): void {
    this.#enqueueInternal({
      caller: { id: senderId, name: '' },
      conversationId: this.conversationId,
      receivedAt: 0,
      sessionId: '',
      laneSeq: 0,
      laneAfter: 0,
      op: { $case: 'streamAppend', value: { seq, offset: 0, text: '', end: false, truncated: false } },
    });
  }

  /** A request of the actor's own (a stream's timer); dropped when the mailbox is full or the actor stopped. */
  #enqueueInternal(req: ActorRequest): void {
    if (this.#stopped) return;
    try {
      this.#mailbox.push({ req, enqueuedAt: this.deps.clock.now(), resolve: () => {}, internal: true });
    } catch {
      return; // full: the stream's next append or timer tries again
    }
    this.deps.metrics.mailboxDepth.inc();
    if (!this.#running) void this.#run();
  }

  /** Stops taking requests; resolves once the mailbox is empty and nothing runs. */
  stop(): Promise<void> {
    this.#stopped = true;
    // A stream's unpersisted tail is resent by its caller to the next owner (Streams.append's gap answer).
    this.#streams.stop();
    if (!this.#running && this.#mailbox.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#mailbox.depth > 0) {
        const batch = this.#mailbox.takeBatch(this.deps.maxBatch, (a, b) => a.req.op?.$case === 'send' && b.req.op?.$case === 'send');
        this.deps.metrics.mailboxDepth.dec(batch.length);
        const now = this.deps.clock.now();
        for (const t of batch) {
          this.deps.metrics.mailboxWait.observe((now - t.enqueuedAt) / 1000);
          t.trace?.wait?.end();
        }
        try {
          // Traced: the batch runs in its first request's span's context, so the events it publishes
          // (EventPublisher) descend from it; an untraced one in none, not in whatever started this loop.
          // Untraced in no context already (the common case), it runs as is: entering a context costs
          // every later promise of the process (AsyncLocalStorage), so only traces pay for it.
          const traced = batch[0]!.trace?.ctx;
          if (traced || activeSpanContext()) await withContext(traced, () => this.#process(batch));
          else await this.#process(batch);
        } catch (err) {
          this.#failAll(batch, err);
        }
      }
    } finally {
      this.#running = false;
      this.#lastActive = this.deps.clock.now();
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  async #process(batch: Task[]): Promise<void> {
    const head = await this.#loadHead();
    const first = batch[0]!;
    const op = first.req.op;
    if (op?.$case === 'send') return this.#sends.commit(batch, head.state === 'present' ? head.record : undefined);
    if (!first.internal && !this.#lanes.ready(first.req)) {
      this.#answer(first, OUT_OF_ORDER);
      return;
    }
    const reply = await this.#handleSingle(first.req, head, first.internal === true).catch((err: unknown) => this.#toFailure(err, first.req));
    const publish = this.#afterAnswer;
    this.#afterAnswer = undefined;
    this.#answer(first, reply);
    publish?.();
  }

  async #loadHead(): Promise<Head> {
    if (this.#head.state === 'unloaded') {
      const record = await this.deps.store.loadConversation(this.conversationId);
      this.#head = record ? { state: 'present', record } : { state: 'absent' };
      // A stream whose producer and actor both went away still ends (truncated) once this actor runs again.
      if (record && record.lastSeq > 0) {
        await this.#streams.resume().catch((err: unknown) => this.deps.logger.warn({ err, conversationId: this.conversationId }, 'could not look for open streams'));
      }
    }
    return this.#head;
  }

  async #handleSingle(req: ActorRequest, head: Head, internal: boolean): Promise<ActorReply> {
    const caller = requireCaller(req);
    const op = req.op;
    switch (op?.$case) {
      case 'openDm':
        return this.#openDm(caller, op.value.peer?.id ?? '', head);
      case 'createGroup':
        return this.#createGroup(caller, op.value.title, op.value.memberIds, head);
      case 'get': {
        this.#requireMember(head, caller.id);
        return { result: { $case: 'conversation', value: { conversation: await this.#viewFor(caller.id) } } };
      }
      case 'history': {
        this.#requireMember(head, caller.id);
        const page = await this.#page(op.value, (query) => this.deps.store.readMessages(this.conversationId, query));
        return { result: { $case: 'history', value: page } };
      }
      case 'thread': {
        // Protocol extension: one thread's page, cut as history cuts the conversation, with its root as it is now.
        this.#requireMember(head, caller.id);
        const rootSeq = op.value.root;
        const root = rootSeq <= head.record.lastSeq ? await readMessageAt(this.deps.store, this.conversationId, rootSeq) : undefined;
        if (!root) throw new NotFoundError(`no message ${rootSeq} in this conversation`);
        const page = await this.#page(op.value, (query) => this.deps.store.readThread(this.conversationId, rootSeq, query));
        return { result: { $case: 'history', value: { ...page, root: this.#streams.overlay(root) } } };
      }
      case 'edit':
      case 'delete':
      case 'react':
        this.#requireMember(head, caller.id);
        return this.#mutate(caller.id, head.record, op);
      case 'addMembers':
      case 'removeMember':
      case 'setRole':
      case 'rename':
        // A retried leave answers like the first one did; it tells a non-member nothing.
        if (op.$case === 'removeMember' && op.value.userId === caller.id && !(head.state === 'present' && findMember(head.record, caller.id))) {
          return { result: { $case: 'memberRemoved', value: {} } };
        }
        this.#requireMember(head, caller.id);
        return this.#changeMembership(caller.id, head.record, op);
      case 'streamAppend': {
        if (head.state !== 'present') throw new NotFoundError('no such conversation');
        if (!internal) this.#requireMember(head, caller.id);
        const state = await this.#writing(this.#streams.append(caller.id, head.record, op.value));
        return { result: { $case: 'stream', value: state } };
      }
      case 'markReceipt':
        this.#requireMember(head, caller.id);
        return this.#markReceipt(caller.id, head.record, op.value);
      case 'members':
        // Protocol extension: a page of the members (member-page.ts), for members only, like history.
        this.#requireMember(head, caller.id);
        return { result: { $case: 'memberPage', value: await readMemberPage(this.deps.store, this.conversationId, op.value) } };
      default:
        throw new BadRequestError(`op ${op?.$case ?? '(none)'} is not handled by conversation actors`);
    }
  }

  async #openDm(caller: User, peerId: string, head: Head): Promise<ActorReply> {
    if (head.state === 'present') {
      this.#requireMember(head, caller.id);
      return { result: { $case: 'conversation', value: { conversation: await this.#viewFor(caller.id) } } };
    }
    const ids = peerId === caller.id ? [caller.id] : [caller.id, peerId];
    const known = await this.deps.store.getUsers(ids);
    if (known.length !== ids.length) throw new NotFoundError(`no user with id ${JSON.stringify(peerId)}`);
    return this.#create(caller, {
      id: this.conversationId,
      kind: 'dm',
      title: null,
      createdAt: this.deps.clock.now(),
      members: ids.map((userId) => ({ userId, role: 'member' })),
    });
  }

  async #createGroup(caller: User, title: string, memberIds: string[], head: Head): Promise<ActorReply> {
    if (head.state === 'present') throw new ConflictError('a conversation with this id exists already');
    const others = [...new Set(memberIds)].filter((id) => id !== caller.id);
    if (others.length + 1 > this.deps.limits.maxGroupMembers) {
      throw new BadRequestError(`a group holds at most ${this.deps.limits.maxGroupMembers} members`);
    }
    const known = new Set((await this.deps.store.getUsers(others)).map((u) => u.id));
    const unknown = others.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new NotFoundError(`unknown users: ${unknown.slice(0, 10).join(', ')}`);
    return this.#create(caller, {
      id: this.conversationId,
      kind: 'group',
      title,
      createdAt: this.deps.clock.now(),
      members: [{ userId: caller.id, role: 'owner' }, ...others.map((userId) => ({ userId, role: 'member' as const }))],
    });
  }

  async #create(caller: User, conversation: NewConversation): Promise<ActorReply> {
    const started = performance.now();
    const { record, created } = await this.#writing(this.deps.store.createConversation(conversation, this.#requireEpoch()));
    this.deps.metrics.storeWrite.observe({ kind: 'create' }, (performance.now() - started) / 1000);
    this.#head = { state: 'present', record };
    if (!created) {
      // Lost a race with another creator of the same DM: answer with what exists.
      this.#requireMember(this.#head, caller.id);
      return { result: { $case: 'conversation', value: { conversation: await this.#viewFor(caller.id) } } };
    }
    const view = newConversationView(record, caller.id);
    // Nobody has read anything yet, so every member's view is the caller's: a group's goes out once.
    if (record.kind === 'group') this.deps.events.groupCreated(view);
    else for (const member of record.members) this.deps.events.conversationUpdated(member.userId, view);
    return { result: { $case: 'conversation', value: { conversation: this.#bounded(view, caller.id) } } };
  }

  /** The caller's view as replies carry it: members bounded (docs/protocol.md, "Member paging"). */
  async #viewFor(userId: string): Promise<Conversation> {
    const [view] = await this.deps.store.getConversationViews(userId, [this.conversationId]);
    if (!view) throw new ForbiddenError();
    return this.#bounded(view, userId);
  }

  #bounded(view: Conversation, userId: string): Conversation {
    return boundView(view, userId, this.deps.limits.viewMembers);
  }

  /** Edit, delete or react (message-mutations.ts): persisted, then answered, then message.updated to every member. */
  async #mutate(userId: string, record: ConversationRecord, mutation: MessageMutation): Promise<ActorReply> {
    const by = { userId, role: findMember(record, userId)?.role ?? 'member', kind: record.kind };
    const deps = {
      store: this.deps.store,
      limits: this.deps.limits,
      now: this.deps.clock.now(),
      epoch: () => this.#requireEpoch(),
      changeSeq: record.changeSeq + 1,
    };
    const seq = mutation.value.seq;
    if (this.#streams.isLive(seq)) {
      if (mutation.$case === 'edit') throw new ConflictError(`message ${seq} is still streaming`);
      // The mutation reads the message back from the store: give it the whole body first.
      await this.#writing(this.#streams.settle(seq));
    }
    const { message, changed } = await this.#writing(mutateMessage(deps, this.conversationId, mutation, by));
    if (changed) this.#streams.replaced(message);
    if (changed) {
      record.changeSeq = message.changeSeq;
      this.#afterAnswer = () => this.deps.events.messageUpdated(this.conversationId, message);
    }
    return { result: { $case: 'message', value: { message } } };
  }

  /** receipt.mark (receipts.ts): persisted if a mark moves, answered, then `receipt` to every member. */
  async #markReceipt(userId: string, record: ConversationRecord, mark: MarkReceipt): Promise<ActorReply> {
    const deps = { store: this.deps.store, epoch: () => this.#requireEpoch() };
    const { marks, changed } = await this.#writing(markReceipt(deps, this.conversationId, record.lastSeq, findMember(record, userId)!, mark));
    if (changed) {
      const receipt = { conversationId: this.conversationId, userId, ...marks };
      this.#afterAnswer = () => this.deps.events.receipt(receipt);
    }
    return { result: { $case: 'receipt', value: marks } };
  }

  /**
   * add_members, remove_member, set_role, rename (membership.ts): persisted,
   * then the head's members replaced, then answered, then published; in the
   * mailbox, so no send or read races a change.
   */
  async #changeMembership(userId: string, record: ConversationRecord, op: MembershipOp): Promise<ActorReply> {
    const deps = { store: this.deps.store, limits: this.deps.limits, now: this.deps.clock.now(), epoch: () => this.#requireEpoch() };
    const outcome = await this.#writing(changeMembership(deps, record, userId, op));
    // A new array, never changed in place: findMember's index is keyed by it.
    record.members = outcome.members;
    record.title = outcome.title;
    record.changeSeq = outcome.changeSeq;
    let mine: Conversation | undefined;
    if (outcome.changed) {
      const views = await this.deps.store.getMemberViews(this.conversationId, outcome.members.map((m) => m.userId));
      const found = views.find((v) => v.userId === userId)?.view;
      mine = found && this.#bounded(found, userId);
      this.#afterAnswer = () => publishMembershipChange(this.deps.events, this.conversationId, views, outcome);
    }
    if (op.$case === 'removeMember') return { result: { $case: 'memberRemoved', value: {} } };
    return { result: { $case: 'conversation', value: { conversation: mine ?? (await this.#viewFor(userId)) } } };
  }

  /**
   * One page of history or of a thread: reads one more than `limit` to know
   * whether more remain, keeps the `limit` nearest the cursor, and shows a
   * streaming message's body as it is now, not as last persisted. A page whose
   * messages would make a reply bigger than the bus carries holds fewer than
   * `limit` (the ones nearest the cursor) and says `hasMore` (store/reply-budget.ts).
   */
  async #page(
    page: { before?: number | undefined; after?: number | undefined; limit: number },
    read: (query: MessageQuery) => Promise<ChatMessage[]>,
  ): Promise<{ messages: ChatMessage[]; hasMore: boolean }> {
    const { before, after, limit } = page;
    const forward = after !== undefined;
    const rows = await read({ before, after, limit: limit + 1, direction: forward ? 'forward' : 'backward' });
    const more = rows.length > limit;
    const kept = !more ? rows : forward ? rows.slice(0, limit) : rows.slice(rows.length - limit);
    const shown = this.#streams.open > 0 ? kept.map((m) => this.#streams.overlay(m)) : kept;
    const fitted = fitPage(shown, forward, this.deps.pageBytes());
    return { messages: fitted.messages, hasMore: more || fitted.trimmed };
  }

  #requireMember(head: Head, userId: string): asserts head is { state: 'present'; record: ConversationRecord } {
    if (head.state !== 'present' || !findMember(head.record, userId)) throw new ForbiddenError();
  }

  /** Awaits a write; a fenced or unreachable store gets the same recovery as a failed append before the error goes on. */
  async #writing<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (err) {
      // A refusal (forbidden, too many members, ...) is an answer, not a store failure.
      if (storeErrorKind(err) !== undefined) this.#afterWriteFailure(err);
      throw err;
    }
  }

  #requireEpoch(): number {
    const epoch = this.deps.epoch();
    if (epoch === undefined) throw new NotOwnedError(this.conversationId);
    return epoch;
  }

  /** After a failed write the stored head may differ from ours: reload before the next write. */
  #afterWriteFailure(err: unknown): void {
    this.deps.metrics.storeErrors.inc({ kind: storeErrorKind(err) ?? 'other' });
    if (err instanceof StaleEpochError || err instanceof NotOwnedError) {
      this.#stopped = true;
      this.#streams.stop();
      this.deps.onFenced(this.conversationId);
      // What waits in the mailbox must not be served by this actor either.
      for (const task of this.#mailbox.drain()) {
        this.deps.metrics.mailboxDepth.dec();
        task.trace?.wait?.end();
        this.#answer(task, this.#toFailure(err, task.req));
      }
    }
    if (err instanceof StaleEpochError || err instanceof SeqConflictError || err instanceof StoreUnavailableError || err instanceof NotOwnedError) {
      this.#head = { state: 'unloaded' };
    }
    this.deps.logger.warn({ err, conversationId: this.conversationId }, 'store write failed');
  }

  #failAll(batch: Task[], err: unknown): void {
    if (err instanceof StoreUnavailableError) this.#head = { state: 'unloaded' };
    for (const t of batch) this.#answer(t, this.#toFailure(err, t.req));
  }

  #answer(task: Task, reply: ActorReply): void {
    // `unavailable` means not processed: the lane has not moved past this request,
    // unless the reply is final (noRetry), when the gateway will not resend it.
    const failed = reply.result?.$case === 'failure' ? reply.result.value : undefined;
    if (!(failed?.code === 'unavailable' && !failed.noRetry)) this.#lanes.done(task.req);
    this.#count(task.req, reply);
    task.resolve(reply);
  }

  #count(req: ActorRequest, reply: ActorReply): void {
    const outcome = reply.result?.$case === 'failure' ? reply.result.value.code : 'ok';
    this.deps.metrics.requests.inc({ op: req.op ? ACTOR_OP_LABELS[req.op.$case] : 'none', outcome });
  }

  #toFailure(err: unknown, req: ActorRequest): ActorReply {
    const code = errorCodeOf(err);
    if (code === 'internal') {
      this.deps.logger.error({ err, conversationId: this.conversationId, op: req.op?.$case }, 'actor request failed');
      return failure('internal', 'internal error');
    }
    return failure(code, err instanceof Error ? err.message : String(err), isNoRetry(err));
  }
}

function requireCaller(req: ActorRequest): User {
  if (!req.caller?.id) throw new BadRequestError('request without caller');
  return req.caller;
}

/** How a failed store write is counted in chat_store_errors_total; undefined for a refusal that is an answer. */
function storeErrorKind(err: unknown): 'unavailable' | 'fenced' | 'conflict' | 'other' | undefined {
  if (err instanceof StoreUnavailableError) return 'unavailable';
  if (err instanceof StaleEpochError || err instanceof NotOwnedError) return 'fenced';
  if (err instanceof SeqConflictError) return 'conflict';
  return errorCodeOf(err) === 'internal' ? 'other' : undefined;
}
