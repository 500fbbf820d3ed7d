import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentConfigSchema, type AgentConfig, type ArtifactRef } from '@edgefleet/shared';
import { openDatabase } from '../store/database.js';
import { createStateStore } from '../store/state-store.js';
import { createHttpFetcher } from './http-fetcher.js';

const BODY = Buffer.from('model bytes over http');
const artifact = (url: string): ArtifactRef => ({ sha256: 'a'.repeat(64), size: BODY.length, createdAt: new Date(0).toISOString(), signature: 'x', url });

let dir: string;
let server: Server;
let origin: string;
let seen: (string | undefined)[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agent-http-fetcher-'));
  seen = [];
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterEach(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function fetchWith(config: AgentConfig, url: string): Promise<void> {
  const db = openDatabase(join(dir, 'state.db'));
  try {
    const fetcher = createHttpFetcher({ store: createStateStore(db), logger: pino({ level: 'silent' }), config });
    const path = join(dir, `staging-${seen.length}`);
    await fetcher.fetch({ model: 'm', version: '1', artifact: artifact(url), path, signal: new AbortController().signal });
    expect(readFileSync(path)).toEqual(BODY);
  } finally {
    db.close();
  }
}

const configWith = (origins: string[]): AgentConfig =>
  agentConfigSchema.parse({ deviceId: 'cam-1', dataDir: dir, broker: { url: 'mqtt://127.0.0.1:1', password: 's3cret' }, fleetPublicKey: '-----BEGIN PUBLIC KEY-----', delivery: { httpCredentialOrigins: origins } });

describe('HTTP fetcher device credentials', () => {
  it('sends the device id and secret as Basic auth to a listed origin (the control plane)', async () => {
    await fetchWith(configWith([origin]), `${origin}/api/v1/artifacts/${'a'.repeat(64)}`);
    expect(seen).toEqual([`Basic ${Buffer.from('cam-1:s3cret').toString('base64')}`]);
  });

  it('sends no credentials to any other origin', async () => {
    await fetchWith(configWith(['https://cp.example.com']), `${origin}/a`);
    await fetchWith(configWith([]), `${origin}/b`);
    expect(seen).toEqual([undefined, undefined]);
  });
});
