import { type ClientReadableStream, Metadata, type ServiceError, credentials, status } from '@grpc/grpc-js';
import { type ChatMessage, ChatApiClient, MAX_USER_GET_IDS, type WatchEventsResponse } from '@chat/proto';
import { type LlmOptions, streamCompletion } from './llm.js';
import { summarize, wordChunks } from './summarize.js';

export interface BotOptions {
  /** host:port of a gateway's gRPC API. */
  target: string;
  /** The bot's token (`chat bot create`). */
  token: string;
  /** Set: the answer comes from this OpenAI-compatible endpoint; unset: an extractive summary. */
  llm?: Omit<LlmOptions, 'signal'> | undefined;
  /** How many messages `/summarize` reads when not told (at most MAX_MESSAGES). */
  defaultMessages?: number;
  /** Pause between the words of an extractive summary, so it visibly streams. */
  wordDelayMs?: number;
  /** Where progress lines go (default: nowhere; main.ts prints them). */
  log?: (line: string) => void;
}

const MAX_MESSAGES = 500;
const COMMAND = /^\/summarize(?:\s+(\d{1,4}))?\s*$/;
const SYSTEM_PROMPT = 'You summarize chat conversations. Answer with a short summary of the conversation below: its topics, decisions and open questions.';

/**
 * The example bot: it watches every conversation it is in (WatchEvents,
 * resumed from its watermarks after any break) and answers `/summarize [n]`
 * by reading the last n messages (History) and streaming a summary back
 * (StreamMessage), word by word or as the model produces it.
 */
export class SummarizerBot {
  readonly #client: ChatApiClient;
  readonly #metadata = new Metadata();
  /** Per conversation, the last seq seen: where WatchEvents resumes. */
  readonly #since = new Map<string, number>();
  readonly #log: (line: string) => void;
  #watch: ClientReadableStream<WatchEventsResponse> | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  /** Answers being streamed now (for stop()). */
  readonly #answering = new Set<Promise<void>>();

  constructor(private readonly o: BotOptions) {
    this.#client = new ChatApiClient(o.target, credentials.createInsecure());
    this.#metadata.set('authorization', `Bearer ${o.token}`);
    this.#log = o.log ?? (() => {});
  }

  /** Starts watching; answers from now on. */
  start(): void {
    this.#stopped = false;
    this.#watchEvents(0);
  }

  /** Stops watching and waits for the answers in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#watch?.cancel();
    await Promise.allSettled([...this.#answering]);
    this.#client.close();
  }

  #watchEvents(failures: number): void {
    if (this.#stopped) return;
    const call = this.#client.watchEvents({ since: Object.fromEntries(this.#since), changesSince: {} }, this.#metadata);
    this.#watch = call;
    let healthy = false;
    call.on('data', (event: WatchEventsResponse) => {
      healthy = true;
      this.#onEvent(event);
    });
    call.on('error', (err: ServiceError) => {
      if (this.#stopped || err.code === status.CANCELLED) return;
      if (err.code === status.UNAUTHENTICATED || err.code === status.PERMISSION_DENIED) {
        this.#log(`summarizer: refused (${err.details}); stopping`);
        this.#stopped = true;
        return;
      }
      // Anything else (a gateway restarting, a slow-consumer close): resume from the watermarks.
      const next = healthy ? 0 : failures + 1;
      const delay = Math.min(10_000, 250 * 2 ** next);
      this.#log(`summarizer: event stream broke (${err.details || err.message}); resuming in ${delay} ms`);
      this.#retry = setTimeout(() => this.#watchEvents(next), delay);
    });
  }

  #onEvent(event: WatchEventsResponse): void {
    if (event.conversationId && event.seq > (this.#since.get(event.conversationId) ?? 0)) this.#since.set(event.conversationId, event.seq);
    if (event.name !== 'message.new') return;
    const message = (JSON.parse(event.json) as { message: { conversationId: string; seq: number; body: string; senderId: string } }).message;
    const match = COMMAND.exec(message.body.trim());
    if (!match) return;
    const n = Math.min(MAX_MESSAGES, Math.max(1, Number(match[1] ?? this.o.defaultMessages ?? 50)));
    const answer = this.#answer(message.conversationId, message.seq, n).catch((err: Error) =>
      this.#log(`summarizer: could not answer in ${message.conversationId}: ${err.message}`),
    );
    this.#answering.add(answer);
    void answer.finally(() => this.#answering.delete(answer));
  }

  /** Reads the `n` messages before the command and streams the summary back. */
  async #answer(conversationId: string, commandSeq: number, n: number): Promise<void> {
    const history = await new Promise<ChatMessage[]>((resolve, reject) =>
      this.#client.history({ conversationId, before: commandSeq, limit: n }, this.#metadata, (err, res) => (err ? reject(err) : resolve(res.messages))),
    );
    const kept = history.filter((m) => !m.deleted);
    const names = await this.#names(kept.map((m) => m.senderId));
    const said = kept.map((m) => ({ author: names.get(m.senderId) ?? m.senderId, text: m.body }));
    const pieces = this.o.llm
      ? streamCompletion(this.o.llm, SYSTEM_PROMPT, said.map((s) => `${s.author}: ${s.text}`).join('\n'))
      : this.#paced(wordChunks(summarize(said)));
    // One clientMsgId per command: a bot restarted mid-answer resumes the same message, never a second one.
    await this.#stream(conversationId, `summary-${commandSeq}`, pieces);
    this.#log(`summarizer: answered /summarize ${n} in ${conversationId}`);
  }

  /** Display names of `ids` (GetUsers, 100 a call); an id whose name cannot be had stays an id, so a summary never fails for want of a name. */
  async #names(ids: readonly string[]): Promise<Map<string, string>> {
    const distinct = [...new Set(ids)];
    const names = new Map<string, string>();
    for (let i = 0; i < distinct.length; i += MAX_USER_GET_IDS) {
      const userIds = distinct.slice(i, i + MAX_USER_GET_IDS);
      try {
        const { users } = await new Promise<{ users: { id: string; name: string }[] }>((resolve, reject) =>
          this.#client.getUsers({ userIds }, this.#metadata, (err, res) => (err ? reject(err) : resolve(res))),
        );
        for (const u of users) names.set(u.id, u.name);
      } catch (err) {
        this.#log(`summarizer: could not read names (${(err as ServiceError).details || (err as Error).message}); using user ids`);
      }
    }
    return names;
  }

  async *#paced(words: Iterable<string>): AsyncGenerator<string> {
    for (const word of words) {
      yield word;
      await new Promise((r) => setTimeout(r, this.o.wordDelayMs ?? 40));
    }
  }

  /** Streams `pieces` into one message; if the source fails, the message ends with what was sent (truncated by the server). */
  async #stream(conversationId: string, clientMsgId: string, pieces: AsyncIterable<string>): Promise<ChatMessage> {
    let done!: (m: ChatMessage) => void;
    let failed!: (err: Error) => void;
    const finished = new Promise<ChatMessage>((resolve, reject) => ((done = resolve), (failed = reject)));
    const call = this.#client.streamMessage(this.#metadata, (err, res) => (err ? failed(err) : res.message ? done(res.message) : failed(new Error('no message in the reply'))));
    call.write({ kind: { $case: 'start', value: { conversationId, clientMsgId } } });
    try {
      for await (const text of pieces) {
        if (!call.write({ kind: { $case: 'delta', value: { text } } })) await new Promise((r) => call.once('drain', r));
      }
      call.write({ kind: { $case: 'end', value: {} } });
      call.end();
    } catch (err) {
      // The source broke (the model endpoint failed): cancelling the call makes the gateway end the message truncated.
      this.#log(`summarizer: source failed (${(err as Error).message}); ending the message with what was sent`);
      call.cancel();
      finished.catch(() => undefined); // CANCELLED, as asked
      throw err;
    }
    return finished;
  }
}
