import { describe } from 'vitest';
import { botsContract } from './bots.js';
import { boundedViewsContract } from './bounded-views.js';
import { changesContract } from './changes.js';
import { ContractContext, type ContractStore } from './context.js';
import { conversationsContract } from './conversations.js';
import { durabilityContract } from './durability.js';
import { enumerationContract } from './enumeration.js';
import { listsContract } from './lists.js';
import { memberPagesContract } from './member-pages.js';
import { membershipContract } from './membership.js';
import { messagesContract } from './messages.js';
import { mutationsContract } from './mutations.js';
import { receiptsContract } from './receipts.js';
import { repliesContract } from './replies.js';
import { threadsContract } from './threads.js';
import { mentionsContract } from './mentions.js';
import { type SearchSupport, searchContract } from './search.js';
import { usersContract } from './users.js';

export type { ContractStore } from './context.js';
export { message } from './fixtures.js';
export type { SearchSupport } from './search.js';

/**
 * The search part of the contract alone, for a ChatStore that only changes
 * searchMessages (IndexedSearchStore over an external index): the rest of its
 * calls are the wrapped store's, which runs the whole contract itself.
 */
export function runSearchContract(name: string, open: () => Promise<ContractStore>): void {
  describe(`ChatStore search contract: ${name}`, () => {
    searchContract(new ContractContext(open), 'indexed');
  });
}

/**
 * The shared contract every ChatStore backend must pass: each guarantee of
 * store.ts, checked through the interface only. `open` is called before every
 * test. Tests use ids with a random prefix, so a backend may share one
 * database across tests. `search` says what searchMessages does on this
 * backend: search an index (the default) or refuse with SearchUnsupportedError.
 */
export function runStoreContract(name: string, open: () => Promise<ContractStore>, options: { search?: SearchSupport } = {}): void {
  describe(`ChatStore contract: ${name}`, () => {
    const ctx = new ContractContext(open);
    usersContract(ctx);
    botsContract(ctx);
    conversationsContract(ctx);
    messagesContract(ctx);
    listsContract(ctx);
    enumerationContract(ctx);
    mutationsContract(ctx);
    receiptsContract(ctx);
    membershipContract(ctx);
    memberPagesContract(ctx);
    boundedViewsContract(ctx);
    changesContract(ctx);
    repliesContract(ctx);
    threadsContract(ctx);
    mentionsContract(ctx);
    durabilityContract(ctx);
    searchContract(ctx, options.search ?? 'indexed');
  });
}
