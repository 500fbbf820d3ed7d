import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Only the boundary rule matters here, so type information (and a real file on disk) is not needed.
const eslint = new ESLint({
  cwd: root,
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
});

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${file}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('package boundaries (eslint)', () => {
  it.each([
    ['agent/src/probe.ts', "import { createControlPlane } from '@edgefleet/control-plane';"],
    ['agent/src/probe.ts', "import { x } from '../../control-plane/src/server.js';"],
    ['control-plane/src/probe.ts', "import { createAgent } from '@edgefleet/agent';"],
    ['control-plane/src/probe.ts', "import { x } from '../../agent/src/agent.js';"],
    ['agent/src/probe.ts', "import { deviceTopic } from '@edgefleet/shared/src/contract/topics.js';"],
    ['control-plane/src/probe.ts', "import { deviceTopic } from '../../shared/src/contract/topics.js';"],
    ['test/integration/probe.ts', "import { x } from '@edgefleet/agent/src/agent.js';"],
    ['test/integration/probe.ts', "import { x } from '../../agent/src/store/index.js';"],
    ['test/integration/probe.ts', "import { x } from '../../control-plane/src/rollout/index.js';"],
    ['test/bench/probe.ts', "import { x } from '../../shared/src/index.js';"],
    ['test/integration/probe.ts', "import { x } from '../../agent/src';"],
    ['agent/src/probe.ts', "import { memoryAudit } from '@edgefleet/control-plane/testing';"],
    ['control-plane/src/probe.ts', "import { createFakeSessionFactory } from '@edgefleet/agent/testing';"],
  ])('%s: refuses %s', async (file, code) => {
    expect(await boundaryErrors(file, code)).not.toEqual([]);
  });

  it.each([
    ['agent/src/probe.ts', "import { deviceTopic } from '@edgefleet/shared';"],
    ['control-plane/src/probe.ts', "import { deviceTopic } from '@edgefleet/shared';"],
    ['test/integration/probe.ts', "import { deviceTopic } from '@edgefleet/shared';"],
    ['test/integration/probe.ts', "import { createFakeSessionFactory } from '@edgefleet/agent/testing';"],
    ['test/integration/probe.ts', "import { memoryAudit } from '@edgefleet/control-plane/testing';"],
    ['test/integration/probe.ts', "import { tmpDataDir } from '../helpers/index.js';"],
    ['agent/src/inference/probe.ts', "import { createLogger } from '../log/index.js';"],
    ['control-plane/src/rollout/probe.ts', "import { migrate } from '../store/migrations.js';"],
  ])('%s: allows %s', async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });

  it.each(['agent/src/agent.ts', 'control-plane/src/control-plane.ts'])('%s: is checked for import cycles', async (file) => {
    const config = (await eslint.calculateConfigForFile(`${root}/${file}`)) as { rules: Record<string, unknown[]> };
    expect(config.rules['edgefleet/no-import-cycles']?.[0]).toBe(2);
  });
});
