import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, isEdgefleetError } from '@edgefleet/shared';
import { loadAgentConfig } from './load-agent-config.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = generateSigningKeyPair().publicKeyPem;

describe('loadAgentConfig', () => {
  it('reads YAML, applies env and flags over it, fills defaults and freezes', () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, `deviceId: dev-1\nbroker:\n  url: mqtt://cp:1883\nfleetPublicKey: |\n${key.split('\n').map((l) => `  ${l}`).join('\n')}\n`);
    const config = loadAgentConfig({ file, env: { EDGEFLEET_AGENT_DELIVERY__WINDOW: '4', EDGEFLEET_AGENT_LOG_LEVEL: 'debug' }, dataDir: '/data', apiPort: 9000, grpcPort: 0 });
    expect(config).toMatchObject({ deviceId: 'dev-1', dataDir: '/data', logLevel: 'debug', api: { port: 9000, host: '127.0.0.1' }, inference: { grpcPort: 0 }, delivery: { window: 4, chunkBytes: 256 * 1024 } });
    expect(Object.isFrozen(config.delivery)).toBe(true);
    expect(loadAgentConfig({ file, env: {} }).inference.grpcPort).toBe(8500);
  });

  it('names every bad field in one CONFIG_INVALID error', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ deviceId: 'bad id!', broker: { url: 'http://x' }, fleetPublicKey: 'nope', delivery: { chunkBytes: 10_000_000 }, typo: 1 }));
    try {
      loadAgentConfig({ file, env: {} });
      expect.unreachable();
    } catch (err) {
      expect(isEdgefleetError(err, 'CONFIG_INVALID')).toBe(true);
      const paths = ((err as { details: { issues: { path: string }[] } }).details.issues).map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['deviceId', 'broker.url', 'fleetPublicKey', 'delivery.chunkBytes', '']));
    }
  });
});
