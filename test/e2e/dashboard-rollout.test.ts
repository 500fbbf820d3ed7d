/**
 * Browser tests of the dashboard's rollout flows against a real fleet (issue 8): create a rollout
 * from the form after its dry-run preview, watch it progress live (no reload), pause and resume it
 * with confirmations, and see a broken version's gate trip and the automatic rollback.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser, type TrackedPage } from '../helpers/browser.js';
import { DEMO_MODEL, demoModels, installV1, startDashboardFleet, type DashboardFleet } from './dashboard-fleet-setup.js';
import { describeNeeding } from '../setup/gate.js';

const DEVICES = 3;
const { v2, v3 } = demoModels();

/** Fills the rollout form for `version` in two waves (1 device, then the rest) and previews it. */
async function fillRolloutForm(page: Page, version: string, bakeSeconds: number, deadlineSeconds = 60): Promise<void> {
  await page.getByRole('link', { name: 'Rollouts' }).click();
  await page.getByRole('link', { name: 'New rollout' }).click();
  await page.getByRole('heading', { name: 'New rollout' }).waitFor();
  await page.getByLabel('Model', { exact: true }).selectOption(DEMO_MODEL);
  await expect.poll(() => page.getByLabel('Version', { exact: true }).locator('option').allTextContents()).toContain(version);
  await page.getByLabel('Version', { exact: true }).selectOption(version);
  await page.getByRole('button', { name: 'Remove wave 2' }).click();
  expect(await page.getByLabel('Wave 1 size').inputValue()).toBe('1');
  expect(await page.getByLabel('Wave 2 unit').inputValue()).toBe('percent');
  await page.getByLabel('Bake time per wave (seconds)').fill(String(bakeSeconds));
  await page.getByLabel('Device deadline per step (seconds)').fill(String(deadlineSeconds));
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  const plan = page.getByRole('region', { name: 'Dry-run plan' });
  await plan.waitFor();
  expect(await plan.textContent()).toContain(`${DEMO_MODEL}@${version}`);
  expect(await plan.textContent()).toContain(`${DEVICES} devices in 2 waves, 0 skipped`);
}

async function createFromForm(page: Page): Promise<string> {
  const create = page.getByRole('button', { name: 'Create rollout' });
  expect(await create.isEnabled()).toBe(true);
  await create.click();
  await page.waitForURL(/#\/rollouts\/(?!new)[^/?]+$/);
  const id = decodeURIComponent(new URL(page.url()).hash.replace('#/rollouts/', ''));
  await page.getByRole('heading', { name: `Rollout ${id}` }).waitFor();
  return id;
}

/** Runs a rollout action through its confirmation dialog, by mouse or by keyboard only. */
async function confirmAction(page: Page, button: string, by: 'mouse' | 'keyboard' = 'mouse'): Promise<void> {
  const action = page.getByRole('button', { name: button, exact: true }).first();
  const dialog = page.getByRole('dialog');
  if (by === 'keyboard') {
    await action.focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    // Focus starts on Cancel; Tab reaches the confirm button.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe(button);
    await page.keyboard.press('Enter');
  } else {
    await action.click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: button, exact: true }).click();
  }
  await dialog.waitFor({ state: 'detached' });
}

const pageState = (page: Page): Promise<string | null> => page.locator('[data-state]').first().getAttribute('data-state');

describeNeeding(['chromium'], 'dashboard: rollouts in headless Chromium', () => {
  let fleet: DashboardFleet;
  let browser: TestBrowser;
  let tab: TrackedPage;

  beforeAll(async () => {
    fleet = await startDashboardFleet({ devices: DEVICES });
    await installV1(fleet);
    await fleet.api.pushModel(DEMO_MODEL, v2.version, v2.bytes, v2.notes);
    await fleet.api.pushModel(DEMO_MODEL, v3.version, v3.bytes, v3.notes);
    browser = await launchBrowser();
    tab = await browser.newPage();
    await tab.page.goto(fleet.dashboardUrl);
    await tab.page.getByLabel('API token').fill(fleet.token);
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
    await tab.page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.stop();
  }, 60_000);

  let rolloutId = '';

  it('creates a rollout from the form after its dry-run preview', { timeout: 60_000 }, async () => {
    const { page } = tab;
    await fillRolloutForm(page, v2.version, 4);
    // Changing the form after the preview disables Create until it is previewed again.
    await page.getByLabel('Bake time per wave (seconds)').fill('5');
    expect(await page.getByRole('button', { name: 'Create rollout' }).isEnabled()).toBe(false);
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Create rollout' }).isEnabled()).toBe(true);
    await tab.screenshot('rollout-create', { fullPage: true });
    rolloutId = await createFromForm(page);
    const created = await fleet.api.rollout(rolloutId);
    expect(created.version).toBe(v2.version);
    expect(created.strategy.bakeMs).toBe(5000);
    expect(created.strategy.waves).toEqual([{ count: 1 }, { percent: 100 }]);
  });

  it('updates live, pauses and resumes with confirmation, and finishes', { timeout: 120_000 }, async () => {
    const { page } = tab;
    // A marker that a reload would wipe: every change below must arrive without one.
    await page.evaluate('window.stayed = true');
    await expect.poll(() => page.locator('#rollout-live').getAttribute('data-live')).toBe('open');
    await expect.poll(() => pageState(page), { timeout: 15_000 }).toMatch(/running|scheduled/);

    await confirmAction(page, 'Pause', 'keyboard');
    await expect.poll(() => pageState(page)).toBe('paused');
    expect((await fleet.api.rollout(rolloutId)).state).toBe('paused');
    await tab.screenshot('rollout-paused');

    await confirmAction(page, 'Resume');
    await expect.poll(() => pageState(page)).toMatch(/running|scheduled|succeeded/);
    await expect.poll(() => pageState(page), { timeout: 60_000, interval: 500 }).toBe('succeeded');
    expect(await page.locator('[data-count="succeeded"] .stat-value').textContent()).toBe(String(DEVICES));
    const events = await page.getByRole('list', { name: 'Live rollout events' }).textContent();
    expect(events).toContain('paused');
    expect(events).toContain('wave 2');
    expect(await page.evaluate('window.stayed')).toBe(true);
    await tab.screenshot('rollout-succeeded', { fullPage: true });
  });

  it('shows a gate trip on a broken version and the rollback', { timeout: 120_000 }, async () => {
    const { page } = tab;
    // The canary refuses v3 (its smoke test sees NaN); a short device deadline bounds the wait
    // should the refusal reach the engine only through the reported state.
    await fillRolloutForm(page, v3.version, 3, 15);
    const id = await createFromForm(page);
    await expect.poll(() => pageState(page), { timeout: 90_000, interval: 500 }).toBe('rolled-back');
    const halt = page.locator('[data-halt-gate]');
    await halt.waitFor();
    expect(await halt.getAttribute('data-halt-gate')).toMatch(/whole-wave-failed|install-failure-rate/);
    expect(await halt.textContent()).toContain('wave 1');
    // The tripped gate is charted against its threshold.
    const gateCharts = page.locator('[data-chart^="Gate "]');
    await expect.poll(() => gateCharts.count()).toBeGreaterThan(0);
    const view = await fleet.api.rollout(id);
    expect(view.halt?.gate).toBe(await halt.getAttribute('data-halt-gate'));
    // Every device still runs v2: the canary refused v3, the rest never got it.
    const devices = await fleet.api.listDevices();
    expect(devices.map((d) => d.models[DEMO_MODEL])).toEqual(devices.map(() => v2.version));
    await tab.screenshot('rollout-rolled-back', { fullPage: true });
  });

  it('lists both rollouts with their outcomes', { timeout: 30_000 }, async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'Rollouts' }).click();
    const table = page.getByRole('region', { name: 'Rollouts' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    const text = await table.textContent();
    expect(text).toContain('rolled-back');
    expect(text).toContain('succeeded');
    await tab.screenshot('rollouts');
    expect(tab.errors).toEqual([]);
  });
});
