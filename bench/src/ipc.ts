import type { Snapshot } from './stats.js';

/**
 * Messages between the coordinator and its worker processes (Node IPC, JSON).
 * The coordinator sends numbered commands; a worker answers each with one
 * result carrying the same number.
 */

/** A simulated user: its index in the run, dev-login name and the gateway it uses. */
export interface UserSpec {
  index: number;
  name: string;
  gateway: string;
}

export type Command =
  /** Log these users in through dev login, at most `concurrency` at a time. */
  | { type: 'login'; users: UserSpec[]; concurrency: number }
  /** Open the sockets of the logged-in users, `rampPerSec` new sockets a second. */
  | { type: 'connect'; rampPerSec: number }
  /** For each pair (local user indexes), the first opens a DM with the second; both then send into it. */
  | { type: 'open-dms'; pairs: Array<[number, number]> }
  /** `creator` (a local user index) creates a group with `members` (user ids) and then sends into it. */
  | { type: 'create-group'; creator: number; title: string; members: string[] }
  /** Every user with a conversation sends `ratePerUser` msg/s for `durationMs`, paced, with a random phase, bodies of `bodySize` characters. */
  | { type: 'send'; ratePerUser: number; durationMs: number; bodySize: number }
  /**
   * From now on, messages sent and connections started before `at` (wall-clock
   * ms, see `wallNow`) are warm-up: counted apart, never in the histograms.
   */
  | { type: 'measure-from'; at: number }
  /** Counters and histograms since the previous snapshot. */
  | { type: 'snapshot' }
  /** Close every socket. */
  | { type: 'close' };

export interface LoginResult {
  failed: number;
  firstError: string | null;
}

export interface ConnectResult {
  /** Local user index → user id, for the users that connected. */
  ids: Array<[number, string]>;
  failed: number;
  firstError: string | null;
  /** Connections that closed before hello and were retried (as a client reconnects), and the first reason. */
  retried: number;
  firstRetry: string | null;
}

export interface OpenDmsResult {
  opened: number;
  failed: number;
  firstError: string | null;
}

export interface CreateGroupResult {
  conversationId: string | null;
  error: string | null;
  ms: number;
}

export type CommandResult = LoginResult | ConnectResult | OpenDmsResult | CreateGroupResult | Snapshot | { sent: number } | Record<string, never>;

export interface CommandMessage {
  n: number;
  command: Command;
}

export type WorkerMessage = { n: number; ok: true; result: CommandResult } | { n: number; ok: false; error: string };
