// @ts-check
/**
 * no-import-cycles: reports a cycle in the graph of relative static imports (`import … from`,
 * `export … from`, side-effect `import './x.js'`) at the one import that closes it.
 *
 * `import type` / `export type` declarations are left out: TypeScript erases them, so they never
 * decide module evaluation order. (With verbatimModuleSyntax, `import { type X }` still loads the
 * module, so it counts.) Dynamic `import()` is left out too: it is how a module loads another lazily.
 *
 * The file being linted contributes its edges from the AST ESLint already has (so an editor's
 * unsaved text counts); every other file is read from disk, parsed once with TypeScript and cached
 * by path and mtime, so one lint run parses each module once however many files reach it.
 *
 * Which import closes a cycle: the cycle's members are ordered by path and the import whose target
 * is the first of them closes it. Every strongly connected component with a cycle has such an
 * import (the first member's predecessor inside the component), so each is reported at least
 * once, and a cycle is reported in one file, not in each of its members.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

/** @typedef {{ target: string, typeOnly: boolean }} Edge */

/** @type {Map<string, { mtimeMs: number, edges: Edge[] }>} */
const diskCache = new Map();

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.js', '.mjs'];

/** @param {string} path */
function isFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Resolves a relative specifier as TypeScript's NodeNext does for our sources: `./x.js` is
 * `./x.ts` when that exists; an extensionless specifier tries the extensions, then `index`.
 * @param {string} fromFile
 * @param {string} specifier
 * @returns {string | undefined}
 */
export function resolveRelative(fromFile, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [];
  const js = /\.(m?)js$/.exec(base);
  if (js) candidates.push(base.slice(0, -js[0].length) + (js[1] ? '.mts' : '.ts'), base.slice(0, -js[0].length) + '.tsx');
  candidates.push(base);
  for (const ext of SOURCE_EXTENSIONS) candidates.push(base + ext);
  for (const ext of SOURCE_EXTENSIONS) candidates.push(resolve(base, 'index' + ext));
  return candidates.find(isFile);
}

/**
 * @param {string} file
 * @returns {Edge[]}
 */
function edgesOnDisk(file) {
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const cached = diskCache.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.edges;
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  /** @type {Edge[]} */
  const edges = [];
  for (const statement of source.statements) {
    let specifier;
    let typeOnly = false;
    if (ts.isImportDeclaration(statement)) {
      specifier = statement.moduleSpecifier;
      typeOnly = statement.importClause?.isTypeOnly ?? false;
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier) {
      specifier = statement.moduleSpecifier;
      typeOnly = statement.isTypeOnly;
    }
    if (!specifier || !ts.isStringLiteral(specifier)) continue;
    const target = resolveRelative(file, specifier.text);
    if (target) edges.push({ target, typeOnly });
  }
  diskCache.set(file, { mtimeMs, edges });
  return edges;
}

/**
 * Shortest path from `from` to `to` over runtime edges, or undefined.
 * @param {string} from
 * @param {string} to
 * @param {(file: string) => string[]} next
 * @returns {string[] | undefined}
 */
function shortestPath(from, to, next) {
  /** @type {Map<string, string | null>} */
  const parent = new Map([[from, null]]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    const file = /** @type {string} */ (queue[i]);
    if (file === to) {
      const path = [];
      for (let at = /** @type {string | null | undefined} */ (file); at; at = parent.get(at)) path.unshift(at);
      return path;
    }
    for (const target of next(file)) {
      if (parent.has(target)) continue;
      parent.set(target, file);
      queue.push(target);
    }
  }
  return undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
export const noImportCycles = {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow cycles in the graph of relative static imports' },
    schema: [],
    messages: { cycle: 'Import cycle: {{cycle}}. Move what both sides need into a module that neither imports.' },
  },
  create(context) {
    const file = context.filename;
    const root = context.cwd;
    const runtimeTargets = (/** @type {string} */ f) => edgesOnDisk(f).filter((e) => !e.typeOnly).map((e) => e.target);

    /** @param {import('eslint').Rule.Node} node */
    function check(node) {
      if (node.type !== 'ImportDeclaration' && node.type !== 'ExportNamedDeclaration' && node.type !== 'ExportAllDeclaration') return;
      if (!node.source || typeof node.source.value !== 'string') return;
      const kind = /** @type {{ importKind?: string, exportKind?: string }} */ (node);
      if (kind.importKind === 'type' || kind.exportKind === 'type') return;
      const target = resolveRelative(file, node.source.value);
      if (!target) return;
      const back = target === file ? [file] : shortestPath(target, file, runtimeTargets);
      if (!back) return;
      // back runs target → … → file; with this import the cycle is file → target → … → file.
      const members = target === file ? [file] : [file, ...back.slice(0, -1)];
      const first = [...members].sort()[0];
      if (target !== first) return;
      const cycle = (target === file ? [file, file] : [file, ...back]).map((f) => relative(root, f)).join(' → ');
      context.report({ node: node.source, messageId: 'cycle', data: { cycle } });
    }

    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

export default { meta: { name: 'edgefleet' }, rules: { 'no-import-cycles': noImportCycles } };
