/**
 * Browser tests of the dashboard against a real fleet (issue 8): sign in, see the seeded fleet of
 * real agents, filter the device list, open a device with its models, EP measurements and
 * telemetry charts, open the models page — at 1280×800 and at phone width. Screenshots land in
 * docs/screenshots/ for the README.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createdProvisioningKeySchema, generateDeviceKeyPair, signEnrolmentProof } from '@edgefleet/shared';
import { launchBrowser, PHONE, type TestBrowser, type TrackedPage } from '../helpers/browser.js';
import { startTraffic, type Traffic } from '../demo/traffic.js';
import { DEMO_MODEL, demoModels, installV1, startDashboardFleet, type DashboardFleet } from './dashboard-fleet-setup.js';
import { describeNeeding } from '../setup/gate.js';

const DEVICES = 3;
const V1 = demoModels().v1.version;

describeNeeding(['chromium'], 'dashboard: fleet pages in headless Chromium', () => {
  let fleet: DashboardFleet;
  let browser: TestBrowser;
  let tab: TrackedPage;
  let traffic: Traffic | undefined;

  beforeAll(async () => {
    fleet = await startDashboardFleet({ devices: DEVICES, tags: (i) => ({ site: i === 0 ? 'hamburg' : 'berlin' }) });
    await installV1(fleet);
    // Real inference requests on every agent's local API, so the inference charts have data.
    traffic = startTraffic({ agents: fleet.agents, model: DEMO_MODEL, intervalMs: 250 });
    browser = await launchBrowser();
    tab = await browser.newPage();
  }, 150_000);

  afterAll(async () => {
    await traffic?.stop();
    await browser?.close();
    await fleet?.stop();
  }, 60_000);

  it('refuses a wrong token and signs in with the admin token', async () => {
    const { page } = tab;
    await page.goto(fleet.dashboardUrl);
    await page.getByRole('heading', { name: 'Sign in to edgefleet' }).waitFor();
    await tab.screenshot('sign-in');
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was not accepted.').waitFor();
    await page.getByLabel('API token').fill(fleet.token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    // The token stays in this tab's sessionStorage only.
    expect(await page.evaluate('sessionStorage.getItem("edgefleet.token")')).toBe(fleet.token);
    expect(await page.evaluate('localStorage.length')).toBe(0);
  });

  it('shows the seeded fleet of real agents on the overview', async () => {
    const { page } = tab;
    await expect.poll(() => page.locator('[data-stat="online"] .stat-value').textContent(), { timeout: 15_000 }).toBe(String(DEVICES));
    expect(await page.locator('[data-stat="devices"] .stat-value').textContent()).toBe(String(DEVICES));
    const versions = page.getByRole('region', { name: 'Model versions in use' });
    await expect.poll(() => versions.textContent()).toContain(`${DEMO_MODEL}@${V1}${DEVICES}`);
    await expect.poll(() => page.getByRole('region', { name: 'Execution providers in use' }).textContent()).toContain('cpu');
    await tab.screenshot('overview');
  });

  it('filters the device list by search text and by status, keeping the filter in the URL', async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    const rows = page.getByRole('region', { name: 'Devices' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(DEVICES);
    await page.getByLabel('Search').fill('hamburg');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('cam-01');
    expect(page.url()).toContain('q=hamburg');
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status').selectOption('offline');
    await expect.poll(() => page.getByText('No device matches these filters.').isVisible()).toBe(true);
    await page.getByLabel('Status').selectOption('online');
    await expect.poll(() => rows.count()).toBe(DEVICES);
    await tab.screenshot('devices');
  });

  it('opens a device: reported state, versions, chosen EP with measured latency, telemetry charts', { timeout: 60_000 }, async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'cam-02' }).click();
    await page.getByRole('heading', { name: 'Device cam-02' }).waitFor();
    const models = page.getByRole('region', { name: 'Models on this device' });
    await expect.poll(() => models.textContent(), { timeout: 10_000 }).toContain(V1);
    expect(await models.textContent()).toContain('active');
    const chosen = page.locator('[data-chosen-ep]');
    await expect.poll(() => chosen.first().getAttribute('data-chosen-ep')).toBe('cpu');
    const candidates = page.getByRole('region', { name: `Execution provider candidates for ${DEMO_MODEL}` });
    expect(await candidates.textContent()).toMatch(/cpu\s*selected\s*[\d.]+ ms/);
    // Telemetry arrives every 2 s from the agents; the CPU and memory charts fill with real points.
    await expect.poll(async () => Number(await page.locator('[data-chart="CPU"]').getAttribute('data-points')), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(Number(await page.locator('[data-chart="Memory"]').getAttribute('data-points'))).toBeGreaterThan(0);
    await expect.poll(async () => Number(await page.locator('[data-chart="Inference rate"]').getAttribute('data-points')), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(Number(await page.locator('[data-chart="Inference latency"]').getAttribute('data-points'))).toBeGreaterThan(0);
    expect(await page.locator('[data-chart="CPU"] canvas').count()).toBe(1);
    await tab.screenshot('device', { fullPage: true });
  });

  it('runs a device command from the keyboard after a confirmation', async () => {
    const { page } = tab;
    const button = page.getByRole('button', { name: 'Collect diagnostics…' });
    await button.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Collect diagnostics?' });
    await dialog.waitFor();
    // Cancel has the initial focus, so a stray Enter never confirms.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await button.click();
    await page.getByRole('button', { name: 'Collect', exact: true }).click();
    const answer = page.locator('#device-action-result').locator('[aria-label="Diagnostics"], .notice.error').first();
    await answer.waitFor({ timeout: 35_000 });
    expect(await answer.getAttribute('aria-label'), (await answer.textContent()) ?? '').toBe('Diagnostics');
    expect(await answer.textContent()).toContain('"');
  });

  it('lists models and where each version is deployed', async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('link', { name: DEMO_MODEL }).click();
    await page.getByRole('heading', { name: `Model ${DEMO_MODEL}` }).waitFor();
    const version = page.getByRole('region', { name: `Version ${V1}` });
    await expect.poll(() => version.textContent()).toContain(`Deployed on ${DEVICES} devices`);
    expect(await version.textContent()).toContain('x: FP32[-1×3×-1×-1]');
    await tab.screenshot('model');
  });

  it('works at phone width', { timeout: 60_000 }, async () => {
    const phone = await browser.newPage(PHONE);
    await phone.page.goto(fleet.dashboardUrl);
    await phone.page.getByLabel('API token').fill(fleet.token);
    await phone.page.getByRole('button', { name: 'Sign in' }).click();
    await phone.page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    await expect.poll(() => phone.page.locator('[data-stat="online"] .stat-value').textContent()).toBe(String(DEVICES));
    // Nothing wider than the screen: the page never scrolls sideways.
    expect(await phone.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await phone.screenshot('overview-phone');
    await phone.page.goto(`${fleet.dashboardUrl}#/devices/cam-01`);
    await phone.page.getByRole('heading', { name: 'Device cam-01' }).waitFor();
    await expect.poll(async () => Number(await phone.page.locator('[data-chart="CPU"]').getAttribute('data-points')), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await phone.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await phone.screenshot('device-phone');
    expect(phone.errors).toEqual([]);
    await phone.context.close();
  });

  it('approves a device waiting in pending from the device list', { timeout: 60_000 }, async () => {
    const { page } = tab;
    const keyReply = await fetch(`${fleet.baseUrl}/api/v1/provisioning-keys`, { method: 'POST', headers: { authorization: `Bearer ${fleet.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ tags: { site: 'lab' }, requireApproval: true }) });
    const created = createdProvisioningKeySchema.parse(await keyReply.json());
    const keys = generateDeviceKeyPair();
    const claim = { deviceId: 'cam-new', publicKey: keys.publicKeyPem, provisioningKey: created.key, at: new Date().toISOString(), nonce: randomBytes(16).toString('base64url') };
    const enrol = await fetch(`${fleet.baseUrl}/api/v1/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...claim, proof: signEnrolmentProof(claim, keys.privateKeyPem) }) });
    expect(enrol.status).toBe(202);
    await page.goto(`${fleet.dashboardUrl}#/devices`);
    const pending = page.getByRole('region', { name: 'Enrolments waiting for approval' });
    await expect.poll(() => pending.textContent(), { timeout: 15_000 }).toContain('cam-new');
    await tab.screenshot('devices-pending');
    await page.getByRole('button', { name: 'Approve cam-new' }).click();
    await page.getByRole('dialog', { name: 'Approve cam-new?' }).getByRole('button', { name: 'Approve', exact: true }).click();
    await page.getByText('Approved cam-new.').waitFor();
    const rows = page.getByRole('region', { name: 'Devices' }).locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(DEVICES + 1);
    expect((await fleet.get<{ tags: Record<string, string> }>('/devices/cam-new')).tags).toEqual({ site: 'lab' });
  });

  it('ran without page errors', () => {
    expect(tab.errors).toEqual([]);
  });
});
