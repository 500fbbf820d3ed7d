/**
 * docs/configuration.md is checked against the zod config schemas in @edgefleet/shared: every key
 * of the agent and control-plane configs has a row with its type, default and environment
 * variable, and no row names a key that does not exist. A new config key without documentation
 * fails here, with the row to add in the message.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentConfigSchema, controlPlaneConfigSchema } from '@edgefleet/shared';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const doc = readFileSync(join(import.meta.dirname, '../../docs/configuration.md'), 'utf8');

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  anyOf?: JsonSchema[];
}

interface ConfigRow {
  key: string;
  type: string;
  default: string;
  env: string;
}

function typeName(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => String(v)).join(' \\| ');
  if (schema.type === 'array' && schema.items) return schema.items.enum ? `(${typeName(schema.items)})[]` : `${typeName(schema.items)}[]`;
  if (schema.anyOf) return schema.anyOf.map(typeName).join(' \\| ');
  return schema.type ?? 'any';
}

function defaultCell(schema: JsonSchema, required: boolean): string {
  if (schema.default !== undefined) return `\`${typeof schema.default === 'string' ? schema.default : JSON.stringify(schema.default)}\``;
  return required ? 'required' : '—';
}

/** SNAKE_CASE per path segment joined by `__`: the inverse of loadConfig's env mapping. */
function envName(prefix: string, path: string[]): string {
  return prefix + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__');
}

/** One row per leaf key (objects are walked, arrays and scalars are leaves). */
function configRows(schema: z.ZodType, envPrefix: string): ConfigRow[] {
  const rows: ConfigRow[] = [];
  const walk = (node: JsonSchema, path: string[], parentRequired: boolean): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const childPath = [...path, key];
      // A key is required only when it and every object above it must be given.
      const required = parentRequired && (node.required ?? []).includes(key) && child.default === undefined;
      if (child.type === 'object' && child.properties) walk(child, childPath, required);
      else rows.push({ key: childPath.join('.'), type: typeName(child), default: defaultCell(child, required), env: `\`${envName(envPrefix, childPath)}\`` });
    }
  };
  walk(z.toJSONSchema(schema, { io: 'input' }) as JsonSchema, [], true);
  return rows;
}

/** The rows of the markdown table that follows `<!-- config-table: NAME -->`. */
function documentedRows(name: string): Map<string, string[]> {
  const start = doc.indexOf(`<!-- config-table: ${name} -->`);
  expect(start, `docs/configuration.md has no <!-- config-table: ${name} --> marker`).toBeGreaterThanOrEqual(0);
  const rows = new Map<string, string[]>();
  const lines = doc.slice(start).split('\n').slice(1);
  let inTable = false;
  for (const line of lines) {
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    const key = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1];
    if (key) rows.set(key, cells);
  }
  return rows;
}

const configs = [
  { name: 'agent', schema: agentConfigSchema, envPrefix: 'EDGEFLEET_AGENT_' },
  { name: 'control-plane', schema: controlPlaneConfigSchema, envPrefix: 'EDGEFLEET_CP_' },
] as const;

describe('docs/configuration.md matches the config schemas', () => {
  for (const { name, schema, envPrefix } of configs) {
    describe(name, () => {
      const expected = configRows(schema, envPrefix);
      const documented = documentedRows(name);

      it('documents every key with its type, default and environment variable', () => {
        const missing = expected.filter((row) => {
          const cells = documented.get(row.key);
          return !cells || cells[1] !== row.type || cells[2] !== row.default || cells[3] !== row.env;
        });
        const hint = missing.map((r) => `| \`${r.key}\` | ${r.type} | ${r.default} | ${r.env} | <what it does> |`).join('\n');
        expect(missing, `rows to add or fix in docs/configuration.md (${name}):\n${hint}`).toEqual([]);
      });

      it('documents no key the schema does not have', () => {
        const known = new Set(expected.map((r) => r.key));
        expect([...documented.keys()].filter((k) => !known.has(k))).toEqual([]);
      });

      it('has a description for every key', () => {
        const empty = [...documented.entries()].filter(([, cells]) => !cells[4] || cells[4] === '<what it does>').map(([k]) => k);
        expect(empty).toEqual([]);
      });
    });
  }

  it('the environment mapping in the doc is what loadConfig does', async () => {
    const { loadConfig } = await import('@edgefleet/shared');
    const config = loadConfig({
      schema: agentConfigSchema,
      env: {
        EDGEFLEET_AGENT_DEVICE_ID: 'dev-1',
        EDGEFLEET_AGENT_BROKER__URL: 'mqtt://b:1883',
        EDGEFLEET_AGENT_BROKER__KEEPALIVE_SEC: '15',
        EDGEFLEET_AGENT_FLEET_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----',
      },
      envPrefix: 'EDGEFLEET_AGENT_',
    });
    expect(config.deviceId).toBe('dev-1');
    expect(config.broker.keepaliveSec).toBe(15);
    const rows = configRows(agentConfigSchema, 'EDGEFLEET_AGENT_');
    expect(rows.find((r) => r.key === 'broker.keepaliveSec')?.env).toBe('`EDGEFLEET_AGENT_BROKER__KEEPALIVE_SEC`');
  });
});
