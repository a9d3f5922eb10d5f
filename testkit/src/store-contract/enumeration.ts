import { describe, expect, it } from 'vitest';
import { BadRequestError } from '@chat/conversation-actors';
import type { ContractContext } from './context.js';
import { rejection } from './fixtures.js';

/**
 * The contract of listConversationIds. A backend may share its database with
 * other tests, so the walks only require this test's conversations among
 * what they see, each once.
 */
export function enumerationContract(ctx: ContractContext): void {
  const { create, id } = ctx;

  describe('listConversationIds', () => {
    /** Pages from the start until an empty page (or `maxPages`); every id seen, in order. */
    async function walk(limit: number, maxPages = Number.POSITIVE_INFINITY): Promise<string[]> {
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < maxPages; pages++) {
        const page = await ctx.store.listConversationIds(after, limit);
        expect(page.length).toBeLessThanOrEqual(limit);
        if (page.length === 0) break;
        seen.push(...page);
        after = page.at(-1);
      }
      return seen;
    }

    it('visits every conversation exactly once, a page at a time', async () => {
      const ours = Array.from({ length: 12 }, (_, i) => id(`c${i}`));
      for (const c of ours) await create(c, [id('alice')]);
      const seen = await walk(100);
      expect(new Set(seen).size, 'no conversation twice').toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining(ours));
    });

    it('small pages continue after the given id, with no repeat', async () => {
      for (let i = 0; i < 7; i++) await create(id(`s${i}`), [id('bob')]);
      const seen = await walk(2, 20);
      expect(seen.length).toBeGreaterThanOrEqual(7);
      expect(new Set(seen).size, 'no conversation twice').toBe(seen.length);
    });

    it('refuses a limit below 1 with BadRequestError', async () => {
      expect(await rejection(ctx.store.listConversationIds(undefined, 0))).toBeInstanceOf(BadRequestError);
    });
  });
}
