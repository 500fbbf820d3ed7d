// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import edgefleet from './eslint/rules/no-import-cycles.js';

/**
 * Package boundaries: agent and control plane never import each other; nobody reaches into another
 * package's src/, by package name or by relative path (tests import @edgefleet/* and their /testing
 * entries). Inside a package, imports are relative and never name the package's own folder.
 */
const deepImports = [
  { group: ['@edgefleet/*/src', '@edgefleet/*/src/*', '@edgefleet/*/dist/*'], message: 'Import a package through its public index only.' },
  { group: ['**/shared/src/*', '**/shared/src'], message: 'Import @edgefleet/shared, not its source files.' },
  { group: ['**/agent/src', '**/agent/src/*'], message: 'Import @edgefleet/agent (or @edgefleet/agent/testing), not its source files.' },
  { group: ['**/control-plane/src', '**/control-plane/src/*'], message: 'Import @edgefleet/control-plane (or @edgefleet/control-plane/testing), not its source files.' },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'control-plane/dashboard/public/**', 'test/bench/results/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '.pnpmfile.cjs', 'agent/bin/*.js', 'control-plane/bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      'no-restricted-imports': ['error', { patterns: deepImports }],
    },
  },
  {
    files: ['agent/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: '@edgefleet/control-plane', message: 'The agent never imports the control plane; share through @edgefleet/shared.' }],
        patterns: [...deepImports, { group: ['**/control-plane/**', '@edgefleet/control-plane/*'], message: 'The agent never imports the control plane.' }],
      }],
    },
  },
  {
    files: ['control-plane/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: '@edgefleet/agent', message: 'The control plane never imports the agent; share through @edgefleet/shared.' }],
        patterns: [...deepImports, { group: ['**/agent/**', '@edgefleet/agent/*'], message: 'The control plane never imports the agent.' }],
      }],
    },
  },
  {
    // Module evaluation order must never depend on which file of a cycle is loaded first.
    files: ['agent/**/*.ts', 'control-plane/**/*.ts'],
    plugins: { edgefleet },
    rules: { 'edgefleet/no-import-cycles': 'error' },
  },
  {
    // pnpm loads its hook file as CommonJS, with Node's globals.
    files: ['.pnpmfile.cjs'],
    rules: { 'no-undef': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Plain JavaScript that runs before the build; TypeScript checks it (// @ts-check, allowJs), names included.
    files: ['test/setup/*.mjs'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
