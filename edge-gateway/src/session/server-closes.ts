import { CloseCode } from '@chat/proto';
import type { Logger } from '@chat/platform';
import type { GatewayMetrics } from '../metrics.js';
import type { Outbox } from './outbox.js';
import type { Session } from './session.js';

/** Gap between two waves of session closes while stopping. */
const WAVE_MS = 50;

/**
 * Closes a session with 1001 because the gateway is stopping, unless it is
 * closed already (uWS forbids touching a closed socket). The client
 * reconnects elsewhere and syncs.
 */
export function closeGoingAway(ws: Session, metrics: GatewayMetrics): void {
  const data = ws.getUserData();
  if (!data.open) return;
  data.open = false;
  metrics.closes.inc({ reason: 'shutdown' });
  ws.end(CloseCode.GOING_AWAY, 'server shutting down: reconnect and sync');
}

/**
 * Closes a session with 1013 because it may have missed events (its
 * conversations were followed late), unless it is closed already: the client
 * reconnects and syncs.
 */
export function closeForResync(ws: Session, metrics: GatewayMetrics): void {
  const data = ws.getUserData();
  if (!data.open) return;
  data.open = false;
  metrics.closes.inc({ reason: 'resync' });
  ws.end(CloseCode.TRY_AGAIN_LATER, 'reconnect and sync: events may have been missed');
}

/**
 * Closes `sessions` with 1001 in waves 50 ms apart spread over `spreadMs` (none
 * for 0: the caller closes them all at once), flushing the outbox before each
 * wave so the replies already made go out first. Resolves after the last wave.
 */
export async function closeSessionsSpread(
  sessions: readonly Session[],
  spreadMs: number,
  o: { outbox: Outbox; metrics: GatewayMetrics; logger: Logger },
): Promise<void> {
  if (spreadMs <= 0 || sessions.length === 0) return;
  const waves = Math.max(1, Math.min(sessions.length, Math.floor(spreadMs / WAVE_MS)));
  const perWave = Math.ceil(sessions.length / waves);
  o.logger.info({ sessions: sessions.length, spreadMs, waves }, 'gateway stopping: closing sessions');
  for (let i = 0; i < sessions.length; i += perWave) {
    if (i > 0) await new Promise((r) => setTimeout(r, WAVE_MS));
    o.outbox.flush();
    for (const ws of sessions.slice(i, i + perWave)) closeGoingAway(ws, o.metrics);
  }
}
