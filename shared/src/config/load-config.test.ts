import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from './agent-config.js';
import { loadConfig } from './load-config.js';
import { generateSigningKeyPair } from '../signing/ed25519.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefleet-config-'));
const { publicKeyPem } = generateSigningKeyPair();

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const yamlConfig = `deviceId: cam-01
dataDir: /tmp/agent
broker:
  url: mqtt://127.0.0.1:1883
  password: s3cret
fleetPublicKey: |
${publicKeyPem.trim().split('\n').map((l) => `  ${l}`).join('\n')}
api:
  port: 9000
`;

describe('loadConfig', () => {
  it('reads YAML, applies defaults and freezes the result', () => {
    const config = loadConfig({ schema: agentConfigSchema, file: write('a.yaml', yamlConfig), env: {} });
    expect(config.deviceId).toBe('cam-01');
    expect(config.api.port).toBe(9000);
    expect(config.api.host).toBe('127.0.0.1');
    expect(config.drainDeadlineMs).toBe(10_000);
    expect(Object.isFrozen(config.broker)).toBe(true);
  });

  it('layers env over file and flags over env', () => {
    const file = write('b.yaml', yamlConfig);
    const env = { EDGEFLEET_AGENT_API__PORT: '9100', EDGEFLEET_AGENT_LOG_LEVEL: 'debug', EDGEFLEET_AGENT_DATA_DIR: '/env/dir' };
    const config = loadConfig({ schema: agentConfigSchema, file, env, envPrefix: 'EDGEFLEET_AGENT_', overrides: { dataDir: '/flag/dir', api: { port: undefined } } });
    expect(config.api.port).toBe(9100);
    expect(config.logLevel).toBe('debug');
    expect(config.dataDir).toBe('/flag/dir');
  });

  it('reads JSON files', () => {
    const json = JSON.stringify({ deviceId: 'x1', broker: { url: 'mqtts://b:8883' }, fleetPublicKey: publicKeyPem });
    expect(loadConfig({ schema: agentConfigSchema, file: write('c.json', json), env: {} }).deviceId).toBe('x1');
  });

  it('names every bad field in one CONFIG_INVALID error', () => {
    const file = write('d.yaml', 'deviceId: "bad id"\nbroker:\n  url: http://nope\n  colour: blue\napi:\n  port: 99999\nfleetPublicKey: nope\nsurprise: 1\n');
    try {
      loadConfig({ schema: agentConfigSchema, file, env: {} });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
      const message = (err as Error).message;
      for (const field of ['deviceId', 'broker.url', 'broker', 'api.port', 'fleetPublicKey', 'surprise']) expect(message).toContain(field);
    }
  });

  it('reports an unreadable or unparsable file as CONFIG_FILE_UNREADABLE', () => {
    expect(() => loadConfig({ schema: agentConfigSchema, file: join(dir, 'missing.yaml'), env: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_FILE_UNREADABLE' }));
    expect(() => loadConfig({ schema: agentConfigSchema, file: write('e.yaml', 'a: [unclosed'), env: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_FILE_UNREADABLE' }));
    expect(() => loadConfig({ schema: agentConfigSchema, file: write('f.yaml', '- a list'), env: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_FILE_UNREADABLE' }));
  });
});
