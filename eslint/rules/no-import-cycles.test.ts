import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, it } from 'vitest';
import { noImportCycles } from './no-import-cycles.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

// The rule reads every module but the one being linted from disk: a small package of fixtures.
const root = mkdtempSync(join(tmpdir(), 'no-import-cycles-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const files: Record<string, string> = {
  // a → b → c → a
  'ring/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
  'ring/b.ts': "import { c } from './c.js';\nexport const b = () => c;\n",
  'ring/c.ts': "import { a } from './a.js';\nexport const c = () => a;\n",
  // server ↔ routes through a folder index and `export … from`
  'api/server.ts': "import { routes } from './routes/index.js';\nexport const count = 1;\nexport { routes };\n",
  'api/routes/index.ts': "export { routes } from './kserve.js';\n",
  'api/routes/kserve.ts': "import { count } from '../server.js';\nexport const routes = [count];\n",
  // only a type flows back: erased, no cycle at run time
  'types/ports.ts': "import type { Impl } from './impl.js';\nexport interface Port { impl?: Impl }\n",
  'types/impl.ts': "import type { Port } from './ports.js';\nexport interface Impl { port?: Port }\nexport const impl = 1;\n",
  // a lazy import() back
  'lazy/main.ts': "import { helper } from './helper.js';\nexport const main = helper;\n",
  'lazy/helper.ts': "export const helper = () => import('./main.js');\n",
  // a chain without a cycle, with a side-effect import and an extensionless one
  'chain/top.ts': "import './middle.js';\nimport { leaf } from './leaf';\nexport const top = leaf;\n",
  'chain/middle.ts': "import { leaf } from './leaf.js';\nexport const middle = leaf;\n",
  'chain/leaf.ts': 'export const leaf = 1;\n',
};
for (const [name, text] of Object.entries(files)) {
  mkdirSync(dirname(join(root, name)), { recursive: true });
  writeFileSync(join(root, name), text);
}
const at = (name: string) => ({ filename: join(root, name), code: files[name]! });
// The rule names files relative to ESLint's cwd (the repository when it lints the tree).
const cycle = (...names: string[]) => names.map((n) => relative(process.cwd(), join(root, n))).join(' → ');

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' } });

tester.run('no-import-cycles', noImportCycles, {
  valid: [
    // A cycle is reported once, at the import that closes it (the one whose target sorts first): c → a, not a → b or b → c.
    at('ring/a.ts'),
    at('ring/b.ts'),
    at('types/ports.ts'),
    at('types/impl.ts'),
    at('lazy/main.ts'),
    at('lazy/helper.ts'),
    at('chain/top.ts'),
    at('chain/middle.ts'),
    at('chain/leaf.ts'),
    // The linted text, not the file on disk, gives the linted module's imports: here the cycle is gone.
    { filename: join(root, 'ring/c.ts'), code: 'export const c = () => 3;\n' },
    // `import type` back is erased.
    { filename: join(root, 'ring/c.ts'), code: "import type { a } from './a.js';\nexport const c = (x: typeof a) => x;\n" },
    // Package names are not followed.
    { filename: join(root, 'chain/leaf.ts'), code: "import { z } from 'zod';\nexport const leaf = z;\n" },
  ],
  invalid: [
    { ...at('ring/c.ts'), errors: [{ messageId: 'cycle', data: { cycle: cycle('ring/c.ts', 'ring/a.ts', 'ring/b.ts', 'ring/c.ts') }, line: 1 }] },
    // Through a folder index and a re-export; the members sort api/routes/index.ts first, so server.ts's import closes it.
    { ...at('api/server.ts'), errors: [{ messageId: 'cycle', data: { cycle: cycle('api/server.ts', 'api/routes/index.ts', 'api/routes/kserve.ts', 'api/server.ts') }, line: 1 }] },
    // A runtime import in the linted text closes a cycle the file on disk does not have (a → b on disk).
    {
      filename: join(root, 'ring/b.ts'),
      code: "import { a } from './a.js';\nexport const b = () => a;\n",
      errors: [{ messageId: 'cycle', data: { cycle: cycle('ring/b.ts', 'ring/a.ts', 'ring/b.ts') }, line: 1 }],
    },
    // `export * from` and `export { x } from` count like imports; a type-only import beside them does not hide them.
    { filename: join(root, 'ring/b.ts'), code: "export * from './a.js';\n", errors: [{ messageId: 'cycle', data: { cycle: cycle('ring/b.ts', 'ring/a.ts', 'ring/b.ts') } }] },
    {
      filename: join(root, 'ring/b.ts'),
      code: "import type { a } from './a.js';\nexport { a as b } from './a.js';\n",
      errors: [{ messageId: 'cycle', data: { cycle: cycle('ring/b.ts', 'ring/a.ts', 'ring/b.ts') }, line: 2 }],
    },
    // A module importing itself.
    { filename: join(root, 'chain/leaf.ts'), code: "import './leaf.js';\nexport const leaf = 1;\n", errors: [{ messageId: 'cycle', data: { cycle: cycle('chain/leaf.ts', 'chain/leaf.ts') } }] },
  ],
});
