import { type ChildProcess, fork } from 'node:child_process';
import type { Command, CommandMessage, ConnectResult, LoginResult, UserSpec, WorkerMessage } from './ipc.js';
import { Progress, type SecondPoint } from './progress.js';
import { decodeSnapshot, summarize, Window, type Snapshot } from './stats.js';

/** One forked worker process and its numbered command/result exchange. */
class WorkerHandle {
  readonly #child: ChildProcess;
  #n = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #exited: Error | null = null;

  constructor(script: string) {
    this.#child = fork(script, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (m: WorkerMessage) => {
      const w = this.#waiting.get(m.n);
      this.#waiting.delete(m.n);
      if (m.ok) w?.resolve(m.result);
      else w?.reject(new Error(`worker: ${m.error}`));
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = new Error(`a worker process exited (${signal ?? `code ${code}`})`);
      for (const w of this.#waiting.values()) w.reject(this.#exited);
      this.#waiting.clear();
    });
  }

  call<T>(command: Command): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    const n = ++this.#n;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(n, { resolve: resolve as (v: unknown) => void, reject });
      this.#child.send({ n, command } satisfies CommandMessage);
    });
  }

  kill(): void {
    if (!this.#exited) this.#child.kill();
  }
}

/**
 * Drives the workers: hands out users, sends commands, and every second
 * collects and merges their snapshots into the per-second series, the
 * windows scenarios opened (a step, the measured phase) and the run total.
 */
export class Coordinator {
  readonly progress = new Progress();
  readonly series: SecondPoint[] = [];
  /** Everything since the start, setup included (its errors count too). */
  readonly total = new Window();
  phase = 'start';
  open = 0;
  inflight = 0;
  readonly #workers: WorkerHandle[];
  readonly #windows = new Set<Window>();
  #second = new Window();
  #cpuMs = 0;
  #polling: Promise<void> = Promise.resolve();
  #clock: NodeJS.Timeout | undefined;
  readonly #t0 = performance.now();

  constructor(script: string, workers: number) {
    this.#workers = Array.from({ length: workers }, () => new WorkerHandle(script));
    this.#windows.add(this.total);
    this.#clock = setInterval(() => void this.#tick(), 1000);
  }

  /** Users are paired (2k, 2k+1) on one worker, so a DM pair never spans processes. */
  workerOf(userIndex: number): number {
    return Math.floor(userIndex / 2) % this.#workers.length;
  }

  call<T>(worker: number, command: Command): Promise<T> {
    return this.#workers[worker]!.call<T>(command);
  }

  callAll<T>(command: Command | ((worker: number) => Command)): Promise<T[]> {
    return Promise.all(this.#workers.map((w, i) => w.call<T>(typeof command === 'function' ? command(i) : command)));
  }

  /** Logs `users` in through their workers. */
  async login(users: UserSpec[], concurrency: number): Promise<LoginResult> {
    this.phase = 'login';
    const perWorker = Math.max(1, Math.ceil(concurrency / this.#workers.length));
    const results = await this.callAll<LoginResult>((w) => ({
      type: 'login',
      users: users.filter((u) => this.workerOf(u.index) === w),
      concurrency: perWorker,
    }));
    return { failed: results.reduce((a, r) => a + r.failed, 0), firstError: results.find((r) => r.firstError)?.firstError ?? null };
  }

  /** Opens every logged-in user's socket, `rampPerSec` a second over all workers; returns user index → id. */
  async connect(rampPerSec: number): Promise<{ ids: Map<number, string>; failed: number; firstError: string | null; retried: number; firstRetry: string | null }> {
    this.phase = 'connect';
    const results = await this.callAll<ConnectResult>({ type: 'connect', rampPerSec: rampPerSec / this.#workers.length });
    return {
      ids: new Map(results.flatMap((r) => r.ids)),
      failed: results.reduce((a, r) => a + r.failed, 0),
      firstError: results.find((r) => r.firstError)?.firstError ?? null,
      retried: results.reduce((a, r) => a + r.retried, 0),
      firstRetry: results.find((r) => r.firstRetry)?.firstRetry ?? null,
    };
  }

  /** Tells every worker where the warm-up ends (wall-clock ms): what is sent or connected before it stays out of every figure. */
  async measureFrom(at: number): Promise<void> {
    await this.callAll({ type: 'measure-from', at });
  }

  /** A window that gets everything collected from now until `closeWindow`. */
  openWindow(): Window {
    const w = new Window();
    this.#windows.add(w);
    return w;
  }

  closeWindow(w: Window): void {
    this.#windows.delete(w);
  }

  /** Collects the workers' snapshots now (serialized with the once-a-second collection). */
  poll(): Promise<void> {
    this.#polling = this.#polling.then(async () => {
      const snapshots = await this.callAll<Snapshot>({ type: 'snapshot' });
      let open = 0;
      let inflight = 0;
      for (const s of snapshots) {
        const d = decodeSnapshot(s);
        this.#second.add(d);
        for (const w of this.#windows) w.add(d);
        this.#cpuMs += s.cpuMs;
        for (const note of s.notes) this.progress.note(note);
        open += s.open;
        inflight += s.inflight;
      }
      this.open = open;
      this.inflight = inflight;
    });
    return this.#polling;
  }

  /**
   * Waits until every send was answered and `window` received `recipients`
   * copies of each acknowledged message, or `timeoutMs` passes. Returns the
   * missing copies (lost: sent in the measured window, lostInWarmup: sent
   * during the warm-up; both fail the run) and the sends still unanswered.
   */
  async drain(window: Window, recipients: number, timeoutMs = 10_000): Promise<{ lost: number; lostInWarmup: number; unanswered: number }> {
    const previous = this.phase;
    this.phase = 'drain';
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      await this.poll();
      const lost = Math.max(0, window.counters.acked * recipients - window.counters.received);
      const lostInWarmup = Math.max(0, window.warmup.acked * recipients - window.warmup.received);
      if ((this.inflight === 0 && lost + lostInWarmup === 0) || performance.now() > deadline) {
        this.phase = previous;
        return { lost, lostInWarmup, unanswered: this.inflight };
      }
      await sleep(100);
    }
  }

  elapsed(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  async stop(): Promise<void> {
    clearInterval(this.#clock);
    await this.#polling.catch(() => {});
    await Promise.race([this.callAll({ type: 'close' }).catch(() => {}), sleep(5000)]);
    for (const w of this.#workers) w.kill();
    this.progress.finish();
  }

  /** Collects what is left and closes the series with the last (partial) second. */
  async finish(): Promise<void> {
    clearInterval(this.#clock);
    await this.poll();
    if (this.#second.seconds() > 0.05) this.#closeSecond();
  }

  async #tick(): Promise<void> {
    try {
      await this.poll();
    } catch {
      return; // a worker died; the scenario's own call reports it
    }
    this.#closeSecond();
  }

  #closeSecond(): void {
    const s = this.#second;
    const seconds = s.seconds();
    this.#second = new Window();
    const d = summarize(s.delivery);
    const a = summarize(s.ack);
    const c = summarize(s.connect);
    const round = (v: number) => Math.round(v * 10) / 10;
    const point: SecondPoint = {
      t: round(this.elapsed()),
      phase: this.phase,
      open: this.open,
      inflight: this.inflight,
      sentPerSec: round(s.counters.sent / seconds),
      ackedPerSec: round(s.counters.acked / seconds),
      receivedPerSec: round(s.counters.received / seconds),
      errors: Object.values(s.counters.errors).reduce((x, y) => x + y, 0),
      connected: s.counters.connected,
      warmup: { sentPerSec: round(s.warmup.sent / seconds), receivedPerSec: round(s.warmup.received / seconds) },
      generatorCpu: Math.round(this.#cpuMs / seconds / 10) / 100,
      delivery: { count: d.count, p50: d.p50, p90: d.p90, p99: d.p99, max: d.max },
      ack: { count: a.count, p50: a.p50, p99: a.p99 },
      connect: { count: c.count, p50: c.p50, p90: c.p90, p99: c.p99 },
    };
    this.#cpuMs = 0;
    this.series.push(point);
    this.progress.update(point);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
