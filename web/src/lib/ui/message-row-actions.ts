import { tick } from 'svelte';
import type { Message } from '@chat/client';
import type { ChatClient } from '../client/chat-client.js';
import { type MessageAction, actionErrorText } from './message-actions.js';
import { useEmoji } from './emoji-search.js';

/** A message closer than this (px) to the top of the viewport shows its action bar below its top edge, not above. */
const BAR_ROOM = 36;

/**
 * The state of the message actions in a conversation view. What must outlive a
 * row lives here, not in the row: rows leave the DOM as they scroll out of the
 * window and come back as new elements. The view makes it a `$state`, so what
 * MessageRowActions writes here shows at once.
 */
export interface MessageActionState {
  /** The message being edited and its draft. */
  editing: { seq: number; draft: string; saving: boolean } | undefined;
  /** Why the last action on a message failed, shown under it until the next action on it or a dismissal. */
  actionErrors: Record<number, string>;
  /** The message whose bar was opened with its "⋯" button (touch screens have no hover). */
  openSeq: number | undefined;
  /**
   * The message whose bar shows because the keyboard is in it. State, not a CSS
   * `:focus-within`: Chromium checks a button is visible after the focus has left
   * the message and before it enters the button, so a bar shown by focus alone
   * hides in that gap and Tab could never get into it.
   */
  keyboardSeq: number | undefined;
  /** The message whose bar drops below its top edge (the message is at the top of the viewport). */
  barBelow: number | undefined;
  /** The message whose full reaction picker is open (loaded on first use: it carries the emoji list). */
  pickerFor: Message | undefined;
}

/** A fresh MessageActionState: nothing edited, open or failed. */
export function initialActionState(): MessageActionState {
  return { editing: undefined, actionErrors: {}, openSeq: undefined, keyboardSeq: undefined, barBelow: undefined, pickerFor: undefined };
}

/** What the actions need from the conversation view around them. */
export interface MessageRowActionsDeps {
  client: ChatClient;
  /** The signed-in user's id. */
  me: () => string | undefined;
  nameOf: (userId: string) => string;
  /** The log's scrolling element. */
  scroller: () => HTMLElement | undefined;
  /** The rendered row of `seq`; undefined while it is outside the log's window. */
  rowOf: (seq: number) => HTMLElement | undefined;
  /** Brings the row of `seq` into the window, `offset` px below the viewport's top. */
  scrollToRow: (seq: number, offset: number) => void;
  viewportHeight: () => number;
  /** Quote `m` in the composer. */
  reply: (m: Message) => void;
  /** Open the thread of `seq` beside the conversation. */
  openThread: (seq: number) => void;
  /** Scroll to the message `seq` a reply quotes. */
  jumpTo: (seq: number) => void;
}

/**
 * What a message row can ask for: react, reply, open a thread, edit, delete,
 * open or close its action bar, and the focus and pointer handling that decides
 * when the bar shows. A failure shows under the message (never as an alert
 * box); focus goes back to the message after an edit or a delete.
 */
export class MessageRowActions {
  /** Reactions awaiting their reply, as `seq emoji`: a second click on the same one waits for the first. */
  readonly #reacting = new Set<string>();

  constructor(
    private readonly ui: MessageActionState,
    private readonly deps: MessageRowActionsDeps,
  ) {}

  focusMessage(seq: number) {
    this.deps.rowOf(seq)?.querySelector<HTMLElement>('article.msg')?.focus();
  }

  /** Runs an action on `m`; a failure shows under the message (never as an alert box). */
  async #act(m: Message, action: MessageAction, run: () => Promise<void>): Promise<boolean> {
    try {
      await run();
      delete this.ui.actionErrors[m.seq];
      return true;
    } catch (err) {
      this.ui.actionErrors[m.seq] = actionErrorText(action, err);
      return false;
    }
  }

  /** Toggles my reaction `emoji` on `m` (a reaction chip). */
  react(m: Message, emoji: string) {
    const key = `${m.seq} ${emoji}`;
    if (this.#reacting.has(key)) return;
    this.#reacting.add(key);
    void this.#act(m, 'react', () => this.deps.client.react(m, emoji)).finally(() => this.#reacting.delete(key));
  }

  /** A quick reaction from the bar, which closes. */
  reactFromBar(m: Message, emoji: string) {
    this.ui.openSeq = undefined;
    this.react(m, emoji);
  }

  /** Opens the full reaction picker for `m`. */
  openPicker(m: Message) {
    this.ui.openSeq = undefined;
    this.ui.pickerFor = m;
  }

  closePicker() {
    const seq = this.ui.pickerFor?.seq;
    this.ui.pickerFor = undefined;
    // Back to the message the picker was opened from (its row may have scrolled away).
    this.deps.scroller()?.querySelector<HTMLElement>(`[data-seq="${seq}"] article`)?.focus();
  }

  pickReaction(emoji: string) {
    const m = this.ui.pickerFor;
    this.ui.pickerFor = undefined;
    if (!m) return;
    useEmoji(emoji);
    this.react(m, emoji);
  }

  reply(m: Message) {
    this.ui.openSeq = undefined;
    this.deps.reply(m);
  }

  openThread(seq: number) {
    this.ui.openSeq = undefined;
    this.deps.openThread(seq);
  }

  jumpTo(seq: number) {
    this.deps.jumpTo(seq);
  }

  async startEdit(m: Message) {
    this.ui.openSeq = undefined;
    delete this.ui.actionErrors[m.seq];
    this.ui.editing = { seq: m.seq, draft: m.body, saving: false };
    // Not rendered (Up from the composer, scrolled away): bring the row into the window first.
    if (!this.deps.rowOf(m.seq)) this.deps.scrollToRow(m.seq, Math.round(this.deps.viewportHeight() / 3));
    await tick();
    const box = this.deps.rowOf(m.seq)?.querySelector('textarea');
    box?.focus();
    box?.setSelectionRange(box.value.length, box.value.length);
  }

  /** The edit box's text changed. */
  setDraft(draft: string) {
    if (this.ui.editing) this.ui.editing.draft = draft;
  }

  async endEdit(seq: number) {
    if (this.ui.editing?.seq === seq) this.ui.editing = undefined;
    await tick();
    this.focusMessage(seq);
  }

  async saveEdit(m: Message) {
    const e = this.ui.editing;
    if (!e || e.seq !== m.seq || e.saving) return;
    const body = e.draft.trim();
    if (body === m.body) return this.endEdit(m.seq); // nothing changed: nothing to send
    e.saving = true;
    const ok = await this.#act(m, 'edit', () => this.deps.client.edit(m, body));
    if (this.ui.editing !== e) return;
    if (ok) await this.endEdit(m.seq);
    else e.saving = false;
  }

  async remove(m: Message) {
    this.ui.openSeq = undefined;
    const whose = m.senderId === this.deps.me() ? 'this message' : `${this.deps.nameOf(m.senderId)}'s message`;
    if (!confirm(`Delete ${whose} for everyone? This cannot be undone.`)) return;
    if (await this.#act(m, 'delete', () => this.deps.client.delete(m))) {
      if (this.ui.editing?.seq === m.seq) this.ui.editing = undefined;
      await tick();
      this.focusMessage(m.seq);
    }
  }

  dismissError(seq: number) {
    delete this.ui.actionErrors[seq];
  }

  /** The "⋯" button: opens the bar of `seq`, or closes it. */
  toggleBar(seq: number) {
    this.ui.openSeq = this.ui.openSeq === seq ? undefined : seq;
  }

  closeBar(seq: number) {
    this.ui.openSeq = undefined;
    this.focusMessage(seq);
  }

  /** Before a bar shows (hover, focus, "⋯"): a message at the very top of the viewport gets it below its top edge, where it is not cut off. */
  placeBar(article: HTMLElement, seq: number) {
    const scroller = this.deps.scroller();
    if (!scroller) return;
    this.ui.barBelow = article.getBoundingClientRect().top - scroller.getBoundingClientRect().top < BAR_ROOM ? seq : undefined;
  }

  onMessageFocusin(e: FocusEvent & { currentTarget: HTMLElement }, seq: number) {
    // Keyboard focus only: a click on the message or a button in its (hovered) bar does not pin the bar open.
    if (e.target instanceof HTMLElement && e.target.matches(':focus-visible')) {
      if (this.ui.keyboardSeq !== seq) this.placeBar(e.currentTarget, seq);
      this.ui.keyboardSeq = seq;
    }
  }

  onMessageFocusout(e: FocusEvent & { currentTarget: HTMLElement }, seq: number) {
    if (this.ui.keyboardSeq === seq && !(e.relatedTarget instanceof Node && e.currentTarget.contains(e.relatedTarget))) this.ui.keyboardSeq = undefined;
  }

  onMessageKeydown(e: KeyboardEvent, m: Message) {
    if (e.target !== e.currentTarget) return;
    if (e.key === 'Escape' && (this.ui.openSeq === m.seq || this.ui.keyboardSeq === m.seq)) {
      e.stopPropagation();
      this.ui.openSeq = undefined;
      this.ui.keyboardSeq = undefined;
    }
  }
}
