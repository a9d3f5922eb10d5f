import { describe, expect, it } from 'vitest';
import { judge, verdictLine, type VerdictInput } from './verdict.js';

/** The verdict rules: every reason to fail is reported, and PASS needs all of them absent. */

const base: VerdictInput = { target: { p99Ms: 100, appliesTo: 'delivery p99' }, p99: 12.3, samples: 1000, lost: 0, errors: 0, failure: null };

describe('judge', () => {
  it('passes a run within the target with nothing lost or failed', () => {
    const v = judge(base);
    expect(v.pass).toBe(true);
    expect(verdictLine(v)).toBe('PASS (delivery p99 12.3 ms ≤ target 100 ms, 0 lost, 0 errors)');
  });

  it('passes at exactly the target: the target is a maximum', () => {
    expect(judge({ ...base, p99: 100 }).pass).toBe(true);
  });

  it('fails on p99 over the target, losses, errors and a scenario failure, listing each', () => {
    const v = judge({ ...base, p99: 150, lost: 2, errors: 1, failure: 'no connection succeeded' });
    expect(v.pass).toBe(false);
    expect(v.reasons).toEqual(['delivery p99 150 ms > target 100 ms', '2 messages lost', '1 request failed', 'no connection succeeded']);
    expect(verdictLine(v)).toMatch(/^FAIL: delivery p99 150 ms > target 100 ms; 2 messages lost;/);
  });

  it('fails when the measured window has no samples (nothing to judge is not a pass)', () => {
    const v = judge({ ...base, p99: NaN, samples: 0 });
    expect(v.pass).toBe(false);
    expect(v.reasons[0]).toMatch(/no delivery samples in the measured window/);
  });

  it("uses the scenario's own judgement when it gives one (max-throughput's steps)", () => {
    const steps = { ...base, target: { p99Ms: 100, appliesTo: 'delivery p99 of each step' as const }, p99: 400 };
    expect(judge({ ...steps, targetMiss: null }).pass).toBe(true);
    expect(judge({ ...steps, targetMiss: 'no step held: 1000 msg/s: p99 400 ms > 100 ms' }).reasons).toEqual(['no step held: 1000 msg/s: p99 400 ms > 100 ms']);
  });
});
