import { fmtMs } from './stats.js';

/** One second of the run, as the coordinator saw it (also a point of the JSON series and the chart). */
export interface SecondPoint {
  /** Seconds since the run started (end of this second). */
  t: number;
  phase: string;
  open: number;
  inflight: number;
  sentPerSec: number;
  ackedPerSec: number;
  receivedPerSec: number;
  errors: number;
  connected: number;
  /** Traffic sent during the warm-up (in no other field of the point: it is in no figure). */
  warmup: { sentPerSec: number; receivedPerSec: number };
  /** Generator CPU, all workers together, in cores (1 = one core busy). */
  generatorCpu: number;
  delivery: { count: number; p50: number; p90: number; p99: number; max: number };
  ack: { count: number; p50: number; p99: number };
  connect: { count: number; p50: number; p90: number; p99: number };
}

/**
 * The live progress line on stderr: rewritten in place every second on a
 * terminal, one line every 5 s otherwise (CI logs).
 */
export class Progress {
  readonly #tty = process.stderr.isTTY === true;
  #lastLog = -Infinity;
  #line = '';
  #errors = 0;

  update(p: SecondPoint): void {
    this.#errors += p.errors;
    const rate = (v: number) => `${Math.round(v)}/s`;
    // The live line shows all traffic, warm-up included, so the load is visible before the measured window.
    this.#line =
      `[${p.t.toFixed(0).padStart(4)}s] ${p.phase.padEnd(12)} open ${String(p.open).padStart(6)}  ` +
      `sent ${rate(p.sentPerSec + p.warmup.sentPerSec).padStart(8)}  recv ${rate(p.receivedPerSec + p.warmup.receivedPerSec).padStart(8)}  ` +
      `p99 ${fmtMs(p.delivery.p99).padStart(6)} ms  errors ${this.#errors}  gen cpu ${(p.generatorCpu * 100).toFixed(0)}%`;
    if (this.#tty) process.stderr.write(`\r${this.#line}\x1b[K`);
    else if (p.t - this.#lastLog >= 5) {
      this.#lastLog = p.t;
      process.stderr.write(`${this.#line}\n`);
    }
  }

  /** A one-off message (phase changes, warnings) that does not disturb the progress line. */
  note(message: string): void {
    if (this.#tty) process.stderr.write(`\r\x1b[K${message}\n${this.#line}`);
    else process.stderr.write(`${message}\n`);
  }

  /** Leaves the last progress line on screen and ends it. */
  finish(): void {
    if (this.#tty && this.#line) process.stderr.write('\n');
    this.#line = '';
  }
}
