import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { agentConfigSchema } from '@edgefleet/shared';
import { tmpDataDir, type TmpDir } from '../helpers/index.js';
import { execBinaries, verifyUnit } from './deploy-systemd.js';
import { describeNeeding } from '../setup/gate.js';

/** Issue 3, "systemd": the agent unit verifies and carries the restart and hardening policy the issue asks for. */
const unitPath = join(import.meta.dirname, '../../deploy/systemd/edgefleet-agent.service');
const unit = readFileSync(unitPath, 'utf8');
const roots: TmpDir[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => r.cleanup()));
});

function directive(key: string): string | undefined {
  return new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1]?.trim();
}

describeNeeding(['systemd-analyze'], 'deploy/systemd/edgefleet-agent.service', () => {
  it('passes systemd-analyze verify with no output', async () => {
    const root = await tmpDataDir('agent-unit-');
    roots.push(root);
    const result = verifyUnit(unitPath, root.path);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('runs the installed binary with the shared config and data paths as the dedicated user', () => {
    expect(execBinaries(unit)).toEqual(['/opt/edgefleet-agent/bin/edgefleet-agent']);
    expect(directive('ExecStart')).toContain('--config /etc/edgefleet-agent/config.yaml');
    expect(directive('ExecStart')).toContain('--data-dir /var/lib/edgefleet-agent');
    expect(directive('User')).toBe('edgefleet');
    expect(directive('ReadWritePaths')).toBe('/var/lib/edgefleet-agent');
  });

  it('restarts on failure and waits longer than the drain deadline before SIGKILL', () => {
    expect(directive('Restart')).toBe('on-failure');
    const stopSec = Number(/^(\d+)s$/.exec(directive('TimeoutStopSec') ?? '')?.[1]);
    const drainMs = agentConfigSchema.shape.drainDeadlineMs.parse(undefined);
    expect(stopSec * 1000).toBeGreaterThan(drainMs + 5000);
  });

  it.each([
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['PrivateTmp', 'yes'],
  ])('hardening: %s=%s', (key, value) => {
    expect(directive(key)).toBe(value);
  });
});
