import { PRESENCE_RESYNC_SUBJECT } from '@chat/proto';
import type { Bus, Clock, Logger } from '@chat/platform';
import type { PresenceBackend } from './presence-backend.js';
import type { PresenceMetrics } from './presence-metrics.js';
import { PresenceRebuildingError } from './errors.js';
import type { ThrottledLog } from './throttled-log.js';

/** The backend calls the service makes, as counted in chat_presence_backend_errors_total{op}. */
export type BackendOp = 'sessionUp' | 'sessionDown' | 'heartbeat' | 'get' | 'expire' | 'typingStart' | 'typingStop' | 'endSessionTyping' | 'expireTyping' | 'onlineUsers' | 'dataSince';

export interface BackendCallsOptions {
  backend: PresenceBackend;
  /** Where gateways are asked to re-report their sessions (PRESENCE_RESYNC_SUBJECT). */
  bus: Bus;
  logger: Logger;
  log: ThrottledLog;
  metrics: PresenceMetrics;
  clock: Clock;
  /** Runs a task on the service's chain, after everything queued before it. */
  serially: (task: () => Promise<void>) => void;
}

/**
 * The presence service's calls to its backend, and what their failures
 * mean: a failing call is logged (throttled) and counted, never thrown, so
 * presence never takes chat down; the backend is `degraded` until a call
 * succeeds again. Gateways are asked to re-report their sessions once per
 * loss of the backend's data (the backend reports each loss once), and after
 * an outage without a loss, once per instance that saw it fail.
 */
export class BackendCalls {
  /** A backend call failed and none has succeeded since. */
  #degraded = false;
  /** When the current outage began (first failed call), until the check after it is done. */
  #outageSince: number | undefined;

  constructor(private readonly o: BackendCallsOptions) {
    o.backend.onDataLost?.(() => {
      o.logger.warn('the presence store lost its data (Redis restarted empty?): asking gateways for their sessions; unknown users answer unavailable until they have');
      this.askResync();
    });
  }

  /** True from a failed call until the next successful one. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /**
   * Calls the backend; on failure logs (throttled), counts and returns
   * undefined. A PresenceRebuildingError is thrown on: the backend answers,
   * it only cannot vouch yet that these users are offline.
   */
  async call<T>(op: BackendOp, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await fn();
      if (this.#degraded) {
        this.#degraded = false;
        this.#afterOutage();
      }
      return result;
    } catch (err) {
      // Not a failure of the backend: it answers, it only cannot vouch yet that these users are offline.
      if (err instanceof PresenceRebuildingError) throw err;
      this.#degraded = true;
      this.#outageSince ??= this.o.clock.now();
      this.o.metrics.backendErrors.inc({ op });
      this.o.log.log(op, 'error', { err, op }, 'presence backend call failed');
      return undefined;
    }
  }

  /**
   * The backend answers again: updates were lost meanwhile, so the gateways
   * re-report, once. If the backend lost its data, whoever noticed the loss
   * (this instance, now or before, or another one) has asked them already:
   * the data then began after this outage did. One check at a time; a failed
   * check leaves the outage open for the next recovery.
   */
  #afterOutage(): void {
    const backend = this.o.backend;
    const dataSince = backend.dataSince?.bind(backend);
    if (!dataSince) {
      this.#outageSince = undefined;
      this.o.logger.info('presence backend recovered; asking gateways for their sessions');
      this.askResync();
      return;
    }
    this.o.serially(async () => {
      const outageSince = this.#outageSince;
      if (outageSince === undefined) return;
      const since = await this.call('dataSince', () => dataSince(this.o.clock.now()));
      if (since === undefined || this.#outageSince !== outageSince) return;
      this.#outageSince = undefined;
      if (since >= outageSince) return void this.o.logger.info('presence backend recovered; its data was lost meanwhile and gateways were asked for their sessions');
      this.o.logger.info('presence backend recovered; asking gateways for their sessions');
      this.askResync();
    });
  }

  /** Has every gateway report its sessions now (SessionReporter answers with a heartbeat). */
  askResync(): void {
    try {
      this.o.bus.publish(PRESENCE_RESYNC_SUBJECT, new Uint8Array());
    } catch (err) {
      this.o.logger.warn({ err }, 'cannot ask gateways to resync; their next heartbeats will');
    }
  }
}
