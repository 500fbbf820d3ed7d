/**
 * Fault case: 10,000 fuzzed HTTP requests (100,000 long) at a real agent's local inference API
 * (TF Serving and KServe v2 routes) while it serves a model. Every request is invalid by
 * construction; every reply must be a clear 4xx (JSON with an `error` message), the agent must
 * not crash, and a valid inference must still answer correctly afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAgentBuilt, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { freePort } from '../helpers/ports.js';
import { tmpDataDir, type TmpDir } from '../helpers/tmp-dir.js';
import { startAgentRig, type AgentRig } from './lib/agent-rig.js';
import { classifyReply, httpFuzzRequests, sendRequest, type HttpRoute, type ReplyClass } from './lib/http-fuzz.js';
import { faultsLong, recordFaultCase } from './lib/results.js';

const COUNT = faultsLong() ? 100_000 : 10_000;
const MAX_BODY = 1024 * 1024;
const INFER_BODY = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };

export const AGENT_API_ROUTES: HttpRoute[] = [
  { method: 'GET', path: '/v2/health/live' },
  { method: 'GET', path: '/v2/health/ready' },
  { method: 'GET', path: '/v2' },
  { method: 'GET', path: '/v2/models/:model', params: { model: 'adder' } },
  { method: 'GET', path: '/v2/models/:model/versions/:version', params: { model: 'adder', version: '1.0.1' } },
  { method: 'GET', path: '/v2/models/:model/ready', params: { model: 'adder' } },
  { method: 'POST', path: '/v2/models/:model/infer', params: { model: 'adder' }, body: INFER_BODY },
  { method: 'POST', path: '/v2/models/:model/versions/:version/infer', params: { model: 'adder', version: '1.0.1' }, body: INFER_BODY },
  { method: 'GET', path: '/v1/models/:model', params: { model: 'adder' } },
  { method: 'POST', path: '/v1/models/:model:predict', params: { model: 'adder' }, body: { instances: [[1, 2, 3, 4]] } },
  { method: 'GET', path: '/metrics' },
];

let rig: AgentRig;
let dir: TmpDir;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  await ensureAgentBuilt();
  rig = await startAgentRig();
  dir = await tmpDataDir('fault-http-agent-');
});

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  await rig?.close();
  await dir?.cleanup();
});

describe('fuzzed HTTP requests at the agent API', () => {
  it(`${COUNT.toLocaleString('en-US')} invalid requests: every reply a clear 4xx, no crash`, async () => {
    const started = Date.now();
    const deviceId = 'fuzz-http-agent';
    const port = await freePort();
    const v1 = rig.addModelVersion('adder', '1.0.1', 1);
    agent = await spawnAgent({ deviceId, brokerUrl: rig.broker.url, fleetPublicKey: rig.keys.publicKeyPem, dataDir: dir.path, apiPort: port, config: { api: { port, maxBodyBytes: MAX_BODY } } });
    const g = await rig.desire(deviceId, [v1]);
    await rig.waitReport(deviceId, (r) => r.appliedGeneration >= g && r.models.some((m) => m.active === v1.version), 60_000);
    const base = `http://127.0.0.1:${port}`;

    const classes: Record<ReplyClass, number> = { 'clear-4xx': 0, 'bare-4xx': 0, '2xx': 0, '3xx': 0, '5xx': 0, 'no-reply': 0 };
    const statuses: Record<string, number> = {};
    const offenders: string[] = [];
    const requests = [...httpFuzzRequests({ seed: 99, count: COUNT, routes: AGENT_API_ROUTES, oversizeBytes: MAX_BODY + 1024, kinds: ['unknown-route', 'wrong-method', 'bad-param', 'broken-json', 'mutated-body', 'wrong-content-type', 'oversize'] })];
    for (let i = 0; i < requests.length; i += 8) {
      await Promise.all(
        requests.slice(i, i + 8).map(async (req) => {
          const reply = await sendRequest(base, req);
          const cls = classifyReply(reply);
          classes[cls] += 1;
          if (reply) statuses[String(reply.status)] = (statuses[String(reply.status)] ?? 0) + 1;
          if (cls !== 'clear-4xx' && offenders.length < 10) offenders.push(`#${req.index} ${req.mutation} ${req.method} ${req.path.slice(0, 120)} → ${reply?.status ?? 'no reply'} ${reply?.body.slice(0, 160) ?? ''}`);
        }),
      );
    }
    const crashed = agent.child.exitCode !== null || agent.child.signalCode !== null;
    const after = await sendRequest(base, { method: 'POST', path: '/v2/models/adder/infer', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(INFER_BODY)) });
    const stillServes = after?.status === 200 && (JSON.parse(after.body) as { outputs: { data: number[] }[] }).outputs[0]?.data[0] === 2;

    recordFaultCase(
      'http-fuzz-agent',
      {
        title: `${COUNT.toLocaleString('en-US')} fuzzed HTTP requests at the agent's local API`,
        counts: { requests: requests.length, ...Object.fromEntries(Object.entries(classes).map(([k, v]) => [`reply ${k}`, v])), ...Object.fromEntries(Object.entries(statuses).map(([k, v]) => [`status ${k}`, v])) },
        goals: [
          { name: 'clear 4xx replies', value: classes['clear-4xx'] / requests.length, target: '100 %', met: classes['clear-4xx'] === requests.length },
          { name: '5xx replies', value: classes['5xx'], target: '= 0', met: classes['5xx'] === 0 },
          { name: 'agent crashes', value: crashed ? 1 : 0, target: '= 0', met: !crashed },
          { name: 'valid inference after the fuzz', value: stillServes ? 1 : 0, target: '= 1', met: stillServes },
        ],
        notes: offenders.length ? [`Replies that were not a clear 4xx (first 10): ${offenders.join(' | ')}`] : [],
      },
      started,
    );
    expect(offenders).toEqual([]);
    expect(crashed).toBe(false);
    expect(stillServes).toBe(true);
  });
});
