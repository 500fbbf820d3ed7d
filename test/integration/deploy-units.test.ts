import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { tmpDataDir, type TmpDir } from '../helpers/index.js';
import { execBinaries, verifyUnit } from './deploy-systemd.js';
import { describeNeeding } from '../setup/gate.js';

const repo = join(import.meta.dirname, '../..');

function unitFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'dist' || entry.name === 'node_modules' ? [] : unitFiles(path);
    return /\.(service|socket|timer|path)$/.test(entry.name) ? [path] : [];
  });
}

const units = unitFiles(join(repo, 'deploy'));
const roots: TmpDir[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => r.cleanup()));
});

describeNeeding(['systemd-analyze'], 'systemd units in deploy/', () => {
  it('ships the control plane and agent units', () => {
    const names = units.map((u) => relative(repo, u));
    expect(names).toContain('deploy/systemd/edgefleet.service');
    expect(names).toContain('deploy/systemd/edgefleet-agent.service');
    expect(names).toContain('deploy/control-plane/edgefleet-control-plane@.service');
  });

  it.each(units.map((u) => [relative(repo, u), u]))('%s passes systemd-analyze verify with no warnings', async (_name, unit) => {
    const root = await tmpDataDir('edgefleet-verify-');
    roots.push(root);
    const result = verifyUnit(unit, root.path);
    // Unknown keys and unparsable values are only warnings (exit 0): any output is a failure.
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('a unit with a typo is caught (the check is not vacuous)', async () => {
    const root = await tmpDataDir('edgefleet-verify-');
    roots.push(root);
    const good = readFileSync(join(repo, 'deploy/systemd/edgefleet.service'), 'utf8');
    const broken = good.replace('NoNewPrivileges=yes', 'NoNewPrivileges=yes\nRestartSecs=2s');
    const file = join(root.path, 'etc-broken.service');
    writeFileSync(file, broken);
    const result = verifyUnit(file, root.path);
    expect(result.output).toMatch(/Unknown key 'RestartSecs'/);
  });

  it('the replica template runs the bundle on a shared data dir with per-instance settings', () => {
    const text = readFileSync(join(repo, 'deploy/control-plane/edgefleet-control-plane@.service'), 'utf8');
    expect(execBinaries(text)).toEqual(['/opt/edgefleet/bin/edgefleet']);
    expect(text).toMatch(/^EnvironmentFile=\/etc\/edgefleet\/control-plane-%i\.env$/m);
    expect(text).toMatch(/--replica-id %H-%i$/m);
    for (const i of [1, 2]) expect(readFileSync(join(repo, `deploy/control-plane/control-plane-${i}.env`), 'utf8')).toMatch(/^EDGEFLEET_CP_HTTP__PORT=\d+$/m);
  });

  it('the control plane unit runs the bundle layout the docs describe', () => {
    const text = readFileSync(join(repo, 'deploy/systemd/edgefleet.service'), 'utf8');
    expect(execBinaries(text)).toEqual(['/opt/edgefleet/bin/edgefleet']);
    expect(text).toMatch(/^User=edgefleet$/m);
    expect(text).toMatch(/^StateDirectory=edgefleet$/m);
  });
});
