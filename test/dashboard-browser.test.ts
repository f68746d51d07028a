import type { WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApi } from '../api/server';
import { SCOPES } from '../domain/auth';
import { localIssuerKeys, mintToken } from '../lib/auth-keys';
import { startCutover } from '../scripts/commands/cutover-run';
import { startApiForStack } from '../scripts/commands/serve';
import { cutoverAbort, cutoverStatus } from '../workflows/cutover/messages';
import { chromiumPath } from './support/browser';
import { seededStack } from './support/stack';

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) on the real stack with a running
 * cutover: it loads and shows the phase and the gates, follows the run without a reload, refuses an action without
 * a token and performs one with a token — checked in the workflow itself, not only on the page.
 */
describe('the cutover dashboard in Chromium', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  let api: RunningApi;
  let browser: Browser;
  let page: Page;
  let handle: WorkflowHandle;
  const name = `dash-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    env = await seededStack('dashboard', { size: 'tiny', seed: 41 });
    const { stack, taskQueue } = env;
    // the stack's API on the task queue its worker polls (status asks whether one does)
    const config = { ...stack.config, logLevel: 'silent' as const, temporal: { ...stack.config.temporal, taskQueue } };
    api = await startApiForStack({ ...stack, config }, { port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await handle?.signal(cutoverAbort, { actor: 'test', reason: 'test over' }).catch(() => undefined);
    await handle?.result().catch(() => undefined);
    await browser?.close();
    await api?.close();
    await env?.close();
  });

  const text = (test: string) => page.locator(`[data-test="${test}"]`);

  it('shows the cutover, its phase and gates, and follows the run without a reload', { timeout: 120_000 }, async () => {
    await page.goto(`${api.url}/dashboard`);
    await expect.poll(() => text('cutover-state').textContent(), { timeout: 15_000 }).toBe('no cutover');
    // started while the page is open (no auto-approve: the run stops at the switch's approval, where the page acts)
    handle = await startCutover(env.stack.client!, env.taskQueue, { name, autoApprove: false }, 'dashboard test');
    await expect.poll(() => text('cutover-name').textContent(), { timeout: 15_000 }).toBe(name);
    // answered live by the workflow (not only its mirror)
    await expect.poll(() => text('cutover-live').textContent(), { timeout: 15_000 }).toBe('');
    // every runbook step is on the timeline, and the run is followed without a reload up to the switch's approval
    await expect.poll(() => page.locator('[data-test="timeline"] tr').count()).toBe(11);
    await expect.poll(() => text('cutover-state').textContent(), { timeout: 90_000, interval: 500 }).toBe('waiting-approval');
    expect(await text('cutover-step').textContent()).toBe('switch');
    await expect.poll(() => page.locator('[data-step="parity"] .badge').textContent()).toBe('done');
    // every go/no-go gate with its state; parity's evidence opens with its categories
    await expect.poll(() => page.locator('[data-test="gates"] tr').count()).toBeGreaterThanOrEqual(9);
    await expect.poll(() => page.locator('[data-gate="parity"] .badge').textContent()).toBe('holds');
    expect(await text('read-source').textContent()).toBe('legacy');
    // the parity gate's evidence opens in place: every category with its count
    await page.locator('[data-gate="parity"] a').first().click();
    await expect.poll(() => page.locator('[data-test="evidence-categories"] tr').count()).toBeGreaterThanOrEqual(8);
    expect(await text('evidence').textContent()).toMatch(/evidence #\d+ parity passed/);
  });

  it('refuses an action without a token, performs one with a token', { timeout: 60_000 }, async () => {
    await text('reason').fill('from the dashboard');
    await page.locator('button[data-action="approve"]').click();
    await expect.poll(() => text('action-result').textContent()).toMatch(/^401 .*bearer token/);
    // nothing reached the workflow
    expect((await handle.query(cutoverStatus)).actions.map((a) => a.action)).not.toContain('approve');

    // a token with another scope is not enough either
    const keys = await localIssuerKeys(env.stack.config.dataDir);
    const mint = (scopes: string[]) =>
      mintToken(keys, { scopes, clientId: 'ops-alice', issuer: env.stack.config.auth.issuer, audience: env.stack.config.auth.audience });
    await text('token').fill(await mint([SCOPES.refresh]));
    await page.locator('button[data-action="approve"]').click();
    await expect.poll(() => text('action-result').textContent()).toMatch(/^403 /);

    await text('token').fill(await mint([SCOPES.operate]));
    await page.locator('[data-test="gate"]').selectOption('switch');
    await page.locator('button[data-action="approve"]').click();
    await expect.poll(() => text('action-result').textContent(), { timeout: 20_000 }).toMatch(/^approved switch/);
    // on record in the workflow, with the token's client as the actor and the operator's reason
    const s = await handle.query(cutoverStatus);
    expect(s.actions).toContainEqual(
      expect.objectContaining({ action: 'approve', actor: 'dashboard:ops-alice', reason: 'from the dashboard' }),
    );
    // and the page shows the switch passing and the log line, without a reload
    await expect.poll(() => page.locator('[data-step="switch"] .badge').textContent(), { timeout: 60_000 }).toMatch(/^(running|done)$/);
    await expect.poll(() => text('actions').textContent()).toContain('dashboard:ops-alice');

    // the same actions over HTTP: each answers what it did, or why nothing
    const token = await mint([SCOPES.operate]);
    const post = (body: object) =>
      fetch(`${api.url}/dashboard/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { said?: string; message?: string } }));
    expect(await post({ action: 'pause', reason: 'lunch' })).toMatchObject({
      status: 200,
      body: { said: expect.stringContaining('pause requested') },
    });
    await expect.poll(() => handle.query(cutoverStatus).then((x) => x.state === 'paused' || x.paused === true)).toBe(true);
    expect(await post({ action: 'pause' })).toMatchObject({
      status: 200,
      body: { said: expect.stringContaining(`cutover ${name} is already paused`) },
    });
    expect(await post({ action: 'resume' })).toMatchObject({ status: 200, body: { said: `resumed cutover ${name}` } });
    await expect.poll(() => handle.query(cutoverStatus).then((x) => x.state !== 'paused' && !x.paused)).toBe(true);
    expect(await post({ action: 'retry' })).toMatchObject({
      status: 409,
      body: { message: expect.stringContaining('retry re-runs a blocked or rolled-back step') },
    });
    expect(await post({ action: 'approve', gate: 'nope', reason: 'x' })).toMatchObject({ status: 400 });
  });
});
