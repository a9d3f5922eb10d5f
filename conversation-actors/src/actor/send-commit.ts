import { type ActorReply, type ActorRequest, type ChatMessage, type SendMessage, type User, newMessageId } from '@chat/proto';
import { type Clock, type Link, type Span, SpanKind, endSpan, linkTo, startSpan, tracingEnabled } from '@chat/platform';
import { ForbiddenError } from '../errors.js';
import type { ActorMetrics } from '../metrics.js';
import type { ChatStore, ClientMsgKey, ConversationRecord, ThreadSummary } from '../store/store.js';
import type { EventPublisher } from './event-publisher.js';
import { type Lanes, OUT_OF_ORDER } from './lanes.js';
import { findMember } from './member-index.js';
import { RecentKeys } from './recent-keys.js';
import { missingMessageProblem, readQuotes, unresolvedQuote, withQuote } from './reply-quotes.js';
import { type RootProblem, ThreadRoots } from './thread-roots.js';
import { checkMentions } from './mentions.js';
import { type Task, failure, sendReply } from './replies.js';

/** What the send path needs of its conversation's actor. */
export interface SendCommitHost {
  readonly conversationId: string;
  readonly store: ChatStore;
  readonly events: EventPublisher;
  readonly clock: Clock;
  readonly metrics: ActorMetrics;
  /** The actor's lanes: a send waits for its session's earlier requests like any other request. */
  readonly lanes: Lanes;
  /** How many recently committed keys to remember (see RecentKeys). */
  readonly recentKeys: number;
  /** Gives a task its final reply (counting it and moving its lane). */
  answer(task: Task, reply: ActorReply): void;
  /** The epoch to write with; throws NotOwnedError when the shard is no longer held. */
  requireEpoch(): number;
  /** The actor's recovery after a failed write (reload the head; stop if fenced). */
  afterWriteFailure(err: unknown): void;
  /** The failure reply for an error. */
  toFailure(err: unknown, req: ActorRequest): ActorReply;
  /** A streaming message was committed (see Streams.started). */
  streamStarted(message: ChatMessage): void;
  /** Thread replies moved a root's counters and gave it `changeSeq` (see Streams.threadMoved). */
  threadMoved(summary: ThreadSummary, changeSeq: number): void;
}

interface PendingSend {
  task: Task;
  send: SendMessage;
  caller: User;
  /** Checked and without repeats (checkMentions). */
  mentions: string[];
  /** Sends in the same batch with the same key, answered as duplicates of this one. */
  twins: Task[];
}

/**
 * The send path of one conversation's actor: a batch of consecutive sends
 * from the mailbox is committed in one store write (group commit). Seqs are
 * allocated in arrival order after the head's lastSeq; only once the write is
 * durable are the sends answered and then published as message.new, in seq
 * order. A send already stored (same senderId and clientMsgId) is answered
 * with its original as a duplicate and never written twice.
 */
export class SendCommit {
  readonly #recent: RecentKeys;
  readonly #threads: ThreadRoots;

  constructor(private readonly host: SendCommitHost) {
    this.#recent = new RecentKeys(host.recentKeys);
    this.#threads = new ThreadRoots(host.store, host.conversationId);
  }

  /**
   * Group commit: allocate consecutive seqs, write once, then reply and publish in order.
   * `record` is the actor's head (moved forward in place), undefined if the conversation does not exist.
   */
  async commit(batch: Task[], record: ConversationRecord | undefined): Promise<void> {
    const host = this.host;
    const pending: PendingSend[] = [];
    const byKey = new Map<string, PendingSend>();
    const tentative = new Map<string, number>();
    const retries: { task: Task; key: ClientMsgKey }[] = [];
    for (const task of batch) {
      const op = task.req.op;
      if (op?.$case !== 'send') continue;
      if (!host.lanes.ready(task.req, tentative)) {
        host.answer(task, OUT_OF_ORDER);
        continue;
      }
      const caller = task.req.caller;
      if (!caller || !record || !findMember(record, caller.id)) {
        host.answer(task, failure('forbidden', new ForbiddenError().message));
        continue;
      }
      const problem =
        missingMessageProblem('replyTo', op.value.replyTo, record.lastSeq) ?? missingMessageProblem('threadRoot', op.value.threadRoot, record.lastSeq);
      if (problem) {
        host.answer(task, failure('not_found', problem));
        continue;
      }
      const mentions = checkMentions(op.value.mentions?.ids, record, caller.id);
      if (!mentions.ok) {
        host.answer(task, failure(mentions.code, mentions.message));
        continue;
      }
      if (this.#recent.has(caller.id, op.value.clientMsgId)) {
        retries.push({ task, key: { senderId: caller.id, clientMsgId: op.value.clientMsgId } });
        continue;
      }
      if (task.req.sessionId && task.req.laneSeq > 0) tentative.set(task.req.sessionId, task.req.laneSeq);
      const key = RecentKeys.key(caller.id, op.value.clientMsgId);
      const twin = byKey.get(key);
      if (twin) {
        twin.twins.push(task);
        continue;
      }
      const p: PendingSend = { task, send: op.value, caller, mentions: mentions.ids, twins: [] };
      pending.push(p);
      byKey.set(key, p);
    }
    if (retries.length > 0) await this.#answerRetries(retries);
    if (pending.length === 0 || !record) return;

    let toWrite = await this.#withUsableRoots(pending);
    if (toWrite.length === 0) return;
    let messages: ChatMessage[] = [];
    let threads: ThreadSummary[] = [];
    // Runs alongside the append: see reply-quotes.ts.
    const replyTargets = toWrite.flatMap((p) => (p.send.replyTo === undefined ? [] : [p.send.replyTo]));
    const quotes = replyTargets.length > 0 ? readQuotes(host.store, host.conversationId, replyTargets) : undefined;
    while (toWrite.length > 0) {
      const now = host.clock.now();
      messages = toWrite.map((p, i) => ({
        conversationId: host.conversationId,
        seq: record.lastSeq + 1 + i,
        id: newMessageId(),
        senderId: p.caller.id,
        clientMsgId: p.send.clientMsgId,
        body: p.send.body,
        attachments: p.send.attachments,
        createdAt: now,
        editedAt: undefined,
        deleted: false,
        reactions: {},
        // New messages move lastSeq, not the change counter.
        changeSeq: 0,
        streaming: p.send.streaming ? true : undefined,
        ...(p.send.replyTo === undefined ? {} : { replyTo: unresolvedQuote(p.send.replyTo) }),
        ...(p.send.threadRoot === undefined ? {} : { threadRoot: p.send.threadRoot }),
        ...(p.mentions.length === 0 ? {} : { mentions: { ids: p.mentions } }),
      }));
      threads = this.#threads.after(messages);
      const started = performance.now();
      const span = commitSpan(toWrite, messages.length);
      let result;
      try {
        result = await host.store.appendMessages({
          conversationId: host.conversationId,
          epoch: host.requireEpoch(),
          expectedLastSeq: record.lastSeq,
          messages,
          // Moved roots get a change position, so sync's `updated` carries their counters.
          ...(threads.length > 0 ? { threads, changeSeq: record.changeSeq + 1 } : {}),
        });
      } catch (err) {
        if (span) endSpan(span, err);
        this.#threads.forget();
        host.afterWriteFailure(err);
        for (const p of toWrite) this.#failSend(p, err);
        return;
      } finally {
        host.metrics.storeWrite.observe({ kind: 'append' }, (performance.now() - started) / 1000);
      }
      span?.end();
      if (result.kind === 'appended') {
        // Acknowledge only while the lease is still ours: past its deadline a
        // new owner may already be writing, and a networked store (Scylla)
        // lets it seal seqs whose rows land late. Unanswered, the senders
        // retry and the new owner answers them with these stored originals.
        try {
          host.requireEpoch();
        } catch (err) {
          this.#threads.forget();
          host.afterWriteFailure(err);
          for (const p of toWrite) this.#failSend(p, err);
          return;
        }
        break;
      }
      // Some keys were stored before (a retry after a restart): answer those as
      // duplicates and write the rest with fresh seqs.
      const existing = new Map(result.existing.map((m) => [RecentKeys.key(m.senderId, m.clientMsgId), m]));
      const next: PendingSend[] = [];
      for (const p of toWrite) {
        const original = existing.get(RecentKeys.key(p.caller.id, p.send.clientMsgId));
        if (!original) next.push(p);
        else {
          this.#recent.add(original);
          host.answer(p.task, sendReply(original, true));
          for (const t of p.twins) host.answer(t, sendReply(original, true));
        }
      }
      toWrite = next;
      messages = [];
      threads = [];
    }
    if (messages.length === 0) return;
    if (quotes) {
      const resolved = await quotes;
      messages = messages.map((m) => withQuote(m, resolved));
    }

    const last = messages[messages.length - 1]!;
    record.lastSeq = last.seq;
    record.lastActivityAt = last.createdAt;
    if (threads.length > 0) record.changeSeq += 1;
    host.metrics.batchSize.observe(messages.length);
    host.metrics.messagesStored.inc(messages.length);
    toWrite.forEach((p, i) => {
      const message = messages[i]!;
      this.#recent.add(message);
      host.answer(p.task, sendReply(message, false));
      for (const t of p.twins) host.answer(t, sendReply(message, true));
      host.events.messageNew(host.conversationId, message, p.task.req.receivedAt, p.task.trace?.ctx);
      if (message.streaming) host.streamStarted(message);
    });
    this.#threads.committed(threads);
    for (const t of threads) {
      host.threadMoved(t, record.changeSeq);
      host.events.threadUpdated({ conversationId: host.conversationId, root: t.root, threadReplies: t.replies, threadLastAt: t.lastAt });
    }
  }

  /**
   * The sends that can go on: those without a thread root, and those whose
   * root can take replies. The others are answered (not_found, bad_request,
   * or the failure of reading their roots) and left out.
   */
  async #withUsableRoots(pending: PendingSend[]): Promise<PendingSend[]> {
    const roots = pending.flatMap((p) => (p.send.threadRoot === undefined ? [] : [p.send.threadRoot]));
    if (roots.length === 0) return pending;
    let problems: Map<number, RootProblem>;
    try {
      problems = await this.#threads.load(roots, this.host.requireEpoch());
    } catch (err) {
      // Only the thread replies depend on that read; the batch's other sends go on.
      for (const p of pending) if (p.send.threadRoot !== undefined) this.#failSend(p, err);
      return pending.filter((p) => p.send.threadRoot === undefined);
    }
    if (problems.size === 0) return pending;
    return pending.filter((p) => {
      const problem = p.send.threadRoot === undefined ? undefined : problems.get(p.send.threadRoot);
      if (!problem) return true;
      const reply = failure(problem.code, problem.message);
      this.host.answer(p.task, reply);
      for (const t of p.twins) this.host.answer(t, reply);
      return false;
    });
  }

  /** Answers retries of recently committed sends with their stored originals. */
  async #answerRetries(retries: { task: Task; key: ClientMsgKey }[]): Promise<void> {
    let originals: ChatMessage[];
    try {
      originals = await this.host.store.findByClientMsgIds(this.host.conversationId, retries.map((r) => r.key));
    } catch (err) {
      for (const r of retries) this.host.answer(r.task, this.host.toFailure(err, r.task.req));
      return;
    }
    const byKey = new Map(originals.map((m) => [RecentKeys.key(m.senderId, m.clientMsgId), m]));
    for (const r of retries) {
      const original = byKey.get(RecentKeys.key(r.key.senderId, r.key.clientMsgId));
      this.host.answer(r.task, original ? sendReply(original, true) : failure('internal', 'a committed message could not be read back'));
    }
  }

  #failSend(p: PendingSend, err: unknown): void {
    const reply = this.host.toFailure(err, p.task.req);
    this.host.answer(p.task, reply);
    for (const t of p.twins) this.host.answer(t, reply);
  }
}

/**
 * The span of one group-commit write, when any of its sends is traced: a
 * child of the first traced send's handling, linked to every other's.
 */
function commitSpan(sends: readonly PendingSend[], count: number): Span | undefined {
  if (!tracingEnabled()) return undefined;
  let parent: PendingSend | undefined;
  const links: Link[] = [];
  for (const p of sends) {
    const trace = p.task.trace;
    if (!trace) continue;
    if (!parent) parent = p;
    else {
      const link = linkTo(trace.ctx);
      if (link) links.push(link);
    }
  }
  if (!parent) return undefined;
  return startSpan('store commit', { kind: SpanKind.INTERNAL, parent: parent.task.trace!.ctx, links, attributes: { 'chat.batch_size': count } });
}
