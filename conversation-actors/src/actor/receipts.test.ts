import { describe, expect, it } from 'vitest';
import { nextMarks } from './receipts.js';

describe('nextMarks', () => {
  const at = (deliveredSeq: number, readSeq: number) => ({ deliveredSeq, readSeq });

  it('moves each mark forward only; absent or lower values leave it', () => {
    expect(nextMarks(at(3, 1), {}, 10)).toEqual(at(3, 1));
    expect(nextMarks(at(3, 1), { deliveredSeq: 2, readSeq: 0 }, 10)).toEqual(at(3, 1));
    expect(nextMarks(at(3, 1), { deliveredSeq: 5 }, 10)).toEqual(at(5, 1));
    expect(nextMarks(at(3, 1), { readSeq: 2 }, 10)).toEqual(at(3, 2));
  });

  it('raises deliveredSeq to readSeq: reading means delivered', () => {
    expect(nextMarks(at(3, 1), { readSeq: 7 }, 10)).toEqual(at(7, 7));
    expect(nextMarks(at(3, 1), { deliveredSeq: 4, readSeq: 6 }, 10)).toEqual(at(6, 6));
  });

  it('clamps marks above lastSeq to lastSeq', () => {
    expect(nextMarks(at(0, 0), { deliveredSeq: 99, readSeq: 50 }, 4)).toEqual(at(4, 4));
    expect(nextMarks(at(4, 2), { deliveredSeq: 5 }, 4)).toEqual(at(4, 2));
    expect(nextMarks(at(0, 0), { readSeq: 1 }, 0)).toEqual(at(0, 0));
  });
});
