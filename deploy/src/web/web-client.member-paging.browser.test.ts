import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployRoot } from '../paths.js';
import { ChatClient, devLogin } from '@chat/testkit/chat-client';
import { chromiumAvailable } from '@chat/testkit/chromium';
import { webSuite } from '@chat/testkit/web-suite';

/** Views list three members here; the group has more than one page (100) of members on top. */
const ENV = { VIEW_MEMBERS: '3' };
const OTHERS = 103;
/** Screenshots for people reviewing the UI (not committed). */
const SHOTS = join(deployRoot(), '..', 'web', 'results');

const haveChromium = chromiumAvailable('web client member paging browser test');

describe.skipIf(!haveChromium)('web client in Chromium: a big group’s members panel pages its members', () => {
  const web = webSuite('chat-web-paging-', ENV);

  it('shows memberCount, not the view’s bounded list, and loads the rest on demand', async () => {
    const errors: string[] = [];
    const context = await web.browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(web.server.baseUrl);
      await page.getByLabel('Your name').fill('Pg Ann');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('status', { name: 'Connection' }).filter({ hasText: 'Online' }).waitFor({ timeout: 10_000 });

      // An owner (over the protocol) makes a group of Ann and 103 others: 105 members.
      const others: string[] = [];
      for (let i = 0; i < OTHERS; i++) others.push((await devLogin(web.server.baseUrl, `Pg Zed ${String(i).padStart(3, '0')}`)).user.id);
      const owner = await ChatClient.login(web.server.baseUrl, 'Pg Owner');
      try {
        await owner.call('conversation.create_group', { title: 'Crowd', members: ['pg-ann', ...others] });
      } finally {
        await owner.close();
      }

      await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: /Crowd/ }).click();
      const view = page.getByRole('region', { name: 'Crowd' });
      await view.getByText('105 members').waitFor();
      await view.getByRole('button', { name: 'Members', exact: true }).click();
      const panel = page.getByRole('region', { name: /^Members/ });
      await panel.getByRole('heading', { name: 'Members (105)' }).waitFor();
      // Opening the group paged in its first 100 members by id; the view's own three are among them or added.
      const shown = panel.getByTestId('members-shown');
      await expect(shown.textContent()).resolves.toMatch(/^Showing 10[0-3] of 105$/);
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'member-paging.png') });
      await panel.getByRole('button', { name: 'Show more members' }).click();
      await panel.getByRole('listitem').nth(104).waitFor();
      await expect(panel.getByRole('listitem').count()).resolves.toBe(105);
      await expect(panel.getByRole('button', { name: 'Show more members' }).count()).resolves.toBe(0);
      // The owner first, then Ann herself among the plain members.
      await expect(panel.getByRole('listitem').first().textContent()).resolves.toContain('Pg Owner');
      await expect(panel.getByRole('listitem').filter({ hasText: 'Pg Ann (you)' }).count()).resolves.toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
