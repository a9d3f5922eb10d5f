import type { WebSocket } from 'uWebSockets.js';
import type { AuthenticatedUser } from '../auth/token-authority.js';
import type { SessionRateLimiter } from '../rate-limit/session-rate-limiter.js';
import type { ConnectionSlot } from '../rate-limit/user-budgets.js';
import type { Lane } from '../routing/lane.js';
import type { ActorSuccess } from '../routing/backend-client.js';
import type { OutboxItem } from './outbox.js';

/** What a gateway keeps per WebSocket session: memory only, nothing a reconnect needs. */
export interface SessionData {
  sessionId: string;
  user: AuthenticatedUser;
  /** This socket's place in its user's budget: released when the socket closes. */
  slot: ConnectionSlot;
  /** Charges frames to the user's bucket (shared by the user's sockets) and counts this session's strikes. */
  rate: SessionRateLimiter;
  /** False once closed: uWS forbids touching a closed socket. */
  open: boolean;
  /** True once hello went out; until then the outbox holds every frame for this session. */
  greeted: boolean;
  /** Requests sent to the backend and not answered yet. */
  inFlight: number;
  expiryTimer: NodeJS.Timeout | undefined;
  /** Frames waiting for the next outbox flush (see Outbox). */
  outbox: OutboxItem[];
  /** This session's request lanes by conversation id; a lane is dropped when idle. */
  lanes: Map<string, Lane<ActorSuccess>>;
}

export type Session = WebSocket<SessionData>;
