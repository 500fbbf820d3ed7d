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
  ])('%s: refuses %s', async (file, code) => {
    expect(await boundaryErrors(file, code)).not.toEqual([]);
  });

  it.each([
    ['agent/src/probe.ts', "import { deviceTopic } from '@edgefleet/shared';"],
    ['control-plane/src/probe.ts', "import { deviceTopic } from '@edgefleet/shared';"],
    ['test/integration/probe.ts', "import { deviceTopic } from '@edgefleet/shared';"],
  ])('%s: allows %s', async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });
});
