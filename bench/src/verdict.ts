import { fmtMs } from './stats.js';

/**
 * A run's verdict against its latency target (--p99-ms): PASS only when the
 * measured p99 is within the target and nothing was lost, failed or left
 * undone. The reasons are printed and stored, so a FAIL says why.
 */

/** What the latency target applies to, in words, for the table and the JSON. */
export type TargetAppliesTo = 'delivery p99' | 'connect p99' | 'delivery p99 of each step';

export interface Target {
  p99Ms: number;
  appliesTo: TargetAppliesTo;
}

export interface VerdictInput {
  target: Target;
  /** The measured p99 the target applies to (NaN when there were no samples), and how many samples. */
  p99: number;
  samples: number;
  lost: number;
  errors: number;
  /** Why the scenario could not do what was asked, if it could not. */
  failure: string | null;
  /**
   * When set, replaces the p99 comparison: the scenario judged the target
   * itself (max-throughput judges each step); null means the target was met.
   */
  targetMiss?: string | null;
}

export interface Verdict {
  pass: boolean;
  /** Every reason for FAIL; for PASS, the figures that passed. */
  reasons: string[];
}

export function judge(v: VerdictInput): Verdict {
  const failed: string[] = [];
  const latency = latencyReason(v);
  if (latency.miss) failed.push(latency.text);
  if (v.lost > 0) failed.push(`${v.lost} message${v.lost === 1 ? '' : 's'} lost`);
  if (v.errors > 0) failed.push(`${v.errors} request${v.errors === 1 ? '' : 's'} failed`);
  if (v.failure) failed.push(v.failure);
  if (failed.length > 0) return { pass: false, reasons: failed };
  return { pass: true, reasons: [latency.text, '0 lost', '0 errors'] };
}

function latencyReason(v: VerdictInput): { miss: boolean; text: string } {
  const { p99Ms, appliesTo } = v.target;
  if (v.targetMiss !== undefined) return v.targetMiss === null ? { miss: false, text: `${appliesTo} ≤ ${p99Ms} ms` } : { miss: true, text: v.targetMiss };
  if (v.samples === 0 || !Number.isFinite(v.p99)) return { miss: true, text: `no ${appliesTo.split(' ')[0]} samples in the measured window (is --warmup longer than the run?)` };
  if (v.p99 > p99Ms) return { miss: true, text: `${appliesTo} ${fmtMs(v.p99)} ms > target ${p99Ms} ms` };
  return { miss: false, text: `${appliesTo} ${fmtMs(v.p99)} ms ≤ target ${p99Ms} ms` };
}

/** `PASS (…)` or `FAIL: …; …`, the line printed under the table. */
export function verdictLine(v: Verdict): string {
  return v.pass ? `PASS (${v.reasons.join(', ')})` : `FAIL: ${v.reasons.join('; ')}`;
}
