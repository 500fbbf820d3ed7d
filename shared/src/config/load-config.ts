import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { EdgefleetError } from '../errors/edgefleet-error.js';
import { formatIssues } from '../contract/parse.js';

export interface LoadConfigOptions<S extends z.ZodType> {
  schema: S;
  /** A YAML or JSON file; optional when env and flags carry everything. */
  file?: string | undefined;
  /** Environment, default process.env. Keys `${envPrefix}A__B_C` set `a.bC`. */
  env?: Record<string, string | undefined>;
  envPrefix?: string;
  /** Highest precedence: values from the command line, already nested. Undefined values are ignored. */
  overrides?: Record<string, unknown>;
}

/** SNAKE_CASE → camelCase for one path segment. */
function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Parses env values as JSON when they look like numbers, booleans, arrays or objects. */
function envValue(raw: string): unknown {
  if (/^(true|false|null|-?\d+(\.\d+)?|\[.*\]|\{.*\})$/s.test(raw.trim())) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof current === 'object' && current !== null && !Array.isArray(current)
        ? deepMerge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EdgefleetError('CONFIG_FILE_UNREADABLE', `cannot read config file ${file}`, { cause });
  }
  let data: unknown;
  try {
    data = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new EdgefleetError('CONFIG_FILE_UNREADABLE', `config file ${file} is not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}`, { cause });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new EdgefleetError('CONFIG_FILE_UNREADABLE', `config file ${file} must hold a mapping at the top level`);
  return data as Record<string, unknown>;
}

/**
 * Config compiled once: file < env < overrides, validated by the schema, deep-frozen.
 * Every problem is reported in one CONFIG_INVALID error naming each field and where it came from.
 */
export function loadConfig<S extends z.ZodType>(options: LoadConfigOptions<S>): Readonly<z.output<S>> {
  const { schema, file, env = process.env, envPrefix, overrides = {} } = options;
  let merged: Record<string, unknown> = file ? readConfigFile(file) : {};
  if (envPrefix) {
    const fromEnv: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(env)) {
      if (!key.startsWith(envPrefix) || raw === undefined || key === envPrefix) continue;
      const path = key.slice(envPrefix.length).split('__').map(camel);
      setPath(fromEnv, path, envValue(raw));
    }
    merged = deepMerge(merged, fromEnv);
  }
  merged = deepMerge(merged, overrides);
  const result = schema.safeParse(merged);
  if (!result.success) {
    const source = [file ? `file ${file}` : undefined, envPrefix ? `env ${envPrefix}*` : undefined, 'flags'].filter(Boolean).join(', ');
    throw new EdgefleetError('CONFIG_INVALID', `invalid configuration (from ${source}): ${formatIssues(result.error.issues)}`, {
      cause: result.error,
      details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return deepFreeze(result.data);
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
