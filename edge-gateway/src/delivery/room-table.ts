/** What a join did to the room on this gateway. */
export type JoinOutcome =
  /** The user was in it already (or is not connected here): nothing changed. */
  | 'none'
  /** Added to a room this gateway already followed: its events reach the user from the next one on. */
  | 'joined'
  /** The room's first local member: the gateway starts following it now. */
  | 'opened';

interface LocalUser {
  rooms: Set<string>;
  /**
   * While the user's rooms are being loaded: the joins (true) and removals
   * (false) announced meanwhile, which win over a load that read the store
   * before them. Undefined once loaded.
   */
  changedWhileLoading: Map<string, boolean> | undefined;
}

/**
 * Which conversations (rooms) this gateway's connected users belong to, the
 * unit of fan-out: a conversation's events reach the gateway once, and it
 * writes them to the local members of the room. The first local member of a
 * room opens it (the gateway subscribes to the conversation's events), the
 * last one leaving closes it, through the hooks.
 *
 * A user is tracked from their first session; their memberships come from a
 * load (the store's view at some moment) merged with the changes announced
 * to them since they were tracked: a join while loading counts at once, and
 * a removal while loading wins over a load that still listed the room. A
 * reload (after the bus lost messages) replaces the rooms the same way,
 * leaving those the store no longer lists.
 */
export class RoomTable {
  readonly #members = new Map<string, Set<string>>();
  readonly #users = new Map<string, LocalUser>();

  constructor(
    private readonly hooks: {
      opened(conversationId: string): void;
      closed(conversationId: string): void;
    },
  ) {}

  /** Number of rooms with a local member. */
  get size(): number {
    return this.#members.size;
  }

  /** Starts tracking a connecting user; their rooms are to be loaded (loaded()). False if tracked already. */
  track(userId: string): boolean {
    if (this.#users.has(userId)) return false;
    this.#users.set(userId, { rooms: new Set(), changedWhileLoading: new Map() });
    return true;
  }

  /** Starts a reload of a tracked user's rooms (loaded() installs it). False if not tracked or already loading. */
  reloading(userId: string): boolean {
    const user = this.#users.get(userId);
    if (!user || user.changedWhileLoading) return false;
    user.changedWhileLoading = new Map();
    return true;
  }

  /** Whether the user's rooms are being loaded or reloaded. */
  isLoading(userId: string): boolean {
    return this.#users.get(userId)?.changedWhileLoading !== undefined;
  }

  isTracked(userId: string): boolean {
    return this.#users.has(userId);
  }

  /** Installs a load of the user's rooms, merged with the joins and removals seen while it ran. */
  loaded(userId: string, conversationIds: Iterable<string>): void {
    const user = this.#users.get(userId);
    const changed = user?.changedWhileLoading;
    if (!user || !changed) return;
    user.changedWhileLoading = undefined;
    const listed = new Set(conversationIds);
    for (const id of [...user.rooms]) {
      if (listed.has(id) || changed.get(id) === true) continue;
      user.rooms.delete(id);
      this.#leaveRoom(userId, id);
    }
    for (const id of listed) if (changed.get(id) !== false) this.#join(userId, user, id);
  }

  /** The user became a member (or was announced as one). */
  join(userId: string, conversationId: string): JoinOutcome {
    const user = this.#users.get(userId);
    if (!user) return 'none';
    user.changedWhileLoading?.set(conversationId, true);
    return this.#join(userId, user, conversationId);
  }

  /** The user left or was removed. */
  leave(userId: string, conversationId: string): void {
    const user = this.#users.get(userId);
    if (!user) return;
    user.changedWhileLoading?.set(conversationId, false);
    if (!user.rooms.delete(conversationId)) return;
    this.#leaveRoom(userId, conversationId);
  }

  /** The user's last session here closed: out of every room. */
  untrack(userId: string): void {
    const user = this.#users.get(userId);
    if (!user) return;
    this.#users.delete(userId);
    for (const id of user.rooms) this.#leaveRoom(userId, id);
  }

  /** The local members of a room; undefined if none. */
  membersOf(conversationId: string): ReadonlySet<string> | undefined {
    return this.#members.get(conversationId);
  }

  /** Whether `userId` is a local member of the room. */
  isMember(userId: string, conversationId: string): boolean {
    return this.#users.get(userId)?.rooms.has(conversationId) ?? false;
  }

  #join(userId: string, user: LocalUser, conversationId: string): JoinOutcome {
    if (user.rooms.has(conversationId)) return 'none';
    user.rooms.add(conversationId);
    let members = this.#members.get(conversationId);
    if (members) {
      members.add(userId);
      return 'joined';
    }
    this.#members.set(conversationId, (members = new Set([userId])));
    this.hooks.opened(conversationId);
    return 'opened';
  }

  #leaveRoom(userId: string, conversationId: string): void {
    const members = this.#members.get(conversationId);
    if (!members?.delete(userId) || members.size > 0) return;
    this.#members.delete(conversationId);
    this.hooks.closed(conversationId);
  }
}
