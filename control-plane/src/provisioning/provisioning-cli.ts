import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import {
  EdgefleetError,
  createdProvisioningKeySchema,
  deviceSchema,
  parseDurationS,
  parseTagList,
  pendingEnrolmentListSchema,
  pendingEnrolmentSchema,
  provisioningKeyListSchema,
  provisioningKeySchema,
  type CreateProvisioningKeyRequest,
  type ProvisioningKey,
} from '@edgefleet/shared';
import type { CliContext, CliExtension } from '../cli/cli-extension.js';
import { json, table } from '../cli/output.js';

const tags = (t: Record<string, string>): string => Object.entries(t).map(([k, v]) => `${k}=${v}`).join(',') || '-';
const when = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').slice(0, 19) : '-');

function keyRows(keys: readonly ProvisioningKey[]): string {
  return table(
    ['ID', 'NAME', 'STATUS', 'USES', 'EXPIRES', 'APPROVAL', 'TAGS'],
    keys.map((k) => [k.id, k.name ?? '-', k.status, `${k.uses}/${k.maxUses ?? '∞'}`, when(k.expiresAt), k.requireApproval ? 'required' : '-', tags(k.tags)]),
  );
}

function parseOption<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (cause) {
    throw new EdgefleetError('BAD_REQUEST', `${flag}: ${(cause as Error).message}`, { cause });
  }
}

export const provisioningCliExtension: CliExtension = (program: Command, ctx: CliContext) => {
  const keys = program.command('provisioning-keys').description('keys that let devices flashed from one image enrol themselves');

  keys
    .command('create')
    .description('create a provisioning key; prints it once')
    .option('--tags <k=v,...>', 'tags every device enrolled with this key gets')
    .option('--max-uses <n>', 'devices this key may enrol', (v) => parseOption('--max-uses', () => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new TypeError('must be a positive whole number');
      return n;
    }))
    .option('--expires <duration>', 'lifetime: 30d, 12h, 90m, 3600s')
    .option('--require-approval', 'devices wait in pending until `edgefleet devices approve ID`')
    .option('--name <name>', 'a name for the key (a factory line, a batch)')
    .option('--agent-config <file>', 'write the ready-to-image agent config (server URL, key, fleet public key; no device identity), mode 0600')
    .option('--json', 'print JSON')
    .action(async (opts: { tags?: string; maxUses?: number; expires?: string; requireApproval?: boolean; name?: string; agentConfig?: string }, command: Command) => {
      const body: CreateProvisioningKeyRequest = {
        tags: opts.tags ? parseOption('--tags', () => parseTagList(opts.tags!)) : {},
        ...(opts.maxUses !== undefined ? { maxUses: opts.maxUses } : {}),
        ...(opts.expires ? { expiresInS: parseOption('--expires', () => parseDurationS(opts.expires!)) } : {}),
        requireApproval: opts.requireApproval === true,
        ...(opts.name ? { name: opts.name } : {}),
      };
      const created = await ctx.client().send('POST', '/provisioning-keys', createdProvisioningKeySchema, body);
      if (opts.agentConfig) {
        const text = extname(opts.agentConfig) === '.json' ? `${JSON.stringify(created.agentConfig, null, 2)}\n` : toYaml(created.agentConfig);
        await writeFile(opts.agentConfig, text, { mode: 0o600 });
      }
      if (ctx.wantsJson(command)) return ctx.io.out(json({ ...created, agentConfigFile: opts.agentConfig }));
      ctx.io.out(`${keyRows([created.provisioningKey])}\n\nkey (shown once): ${created.key}`);
      if (opts.agentConfig) ctx.io.err(`agent config written to ${opts.agentConfig} (mode 0600)`);
    });

  keys
    .command('ls')
    .description('list provisioning keys')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, command: Command) => {
      const list = await ctx.client().get('/provisioning-keys', provisioningKeyListSchema);
      ctx.io.out(ctx.wantsJson(command) ? json(list) : keyRows(list.keys));
    });

  keys
    .command('revoke')
    .description('revoke a provisioning key: devices already enrolled keep working, no new one enrols')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const key = await ctx.client().send('DELETE', `/provisioning-keys/${encodeURIComponent(id)}`, provisioningKeySchema);
      ctx.io.out(ctx.wantsJson(command) ? json(key) : `revoked ${key.id} (${key.uses} devices enrolled with it)`);
    });

  const devices = program.commands.find((c) => c.name() === 'devices') ?? program.command('devices');
  devices
    .command('pending')
    .description('enrolments waiting for approval')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, command: Command) => {
      const list = await ctx.client().get('/enrolments', pendingEnrolmentListSchema);
      if (ctx.wantsJson(command)) return ctx.io.out(json(list));
      ctx.io.out(
        table(
          ['DEVICE', 'STATUS', 'KEY FINGERPRINT', 'REQUESTED', 'LAST ASKED', 'SOURCE', 'TAGS'],
          list.enrolments.map((e) => [e.deviceId, e.status, e.keyFingerprint.slice(0, 16), when(e.requestedAt), when(e.lastSeenAt), e.source ?? '-', tags(e.tags)]),
        ),
      );
    });
  devices
    .command('approve')
    .description('approve a pending enrolment')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const device = await ctx.client().send('POST', `/devices/${encodeURIComponent(id)}/approve`, deviceSchema);
      ctx.io.out(ctx.wantsJson(command) ? json(device) : `approved ${device.id} (${tags(device.tags)})`);
    });
  devices
    .command('reject')
    .description('reject a pending enrolment')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const e = await ctx.client().send('POST', `/devices/${encodeURIComponent(id)}/reject`, pendingEnrolmentSchema);
      ctx.io.out(ctx.wantsJson(command) ? json(e) : `rejected ${e.deviceId}`);
    });
};
