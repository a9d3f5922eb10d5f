/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `tick` every `intervalMs` (catching up when late) until `until` (a performance.now() time). */
export async function paced(intervalMs: number, until: number, tick: () => void): Promise<void> {
  let next = performance.now();
  while (performance.now() < until) {
    tick();
    next += intervalMs;
    const wait = next - performance.now();
    if (wait > 1) await sleep(wait);
    else if (wait < -1000) next = performance.now(); // far behind: stop catching up
  }
}
