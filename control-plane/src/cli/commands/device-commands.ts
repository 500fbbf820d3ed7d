import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import {
  EdgefleetError,
  deviceDetailSchema,
  deviceKeyChangeSchema,
  deviceListSchema,
  parseTagList,
  provisionedDeviceSchema,
  provisionedDevicesSchema,
  type CreateDeviceRequest,
  type ProvisionedAgentConfig,
  type ProvisionedDevice,
} from '@edgefleet/shared';
import type { CliContext } from '../cli-extension.js';
import { json, table } from '../output.js';

/** Writes an agent config (YAML, or JSON for *.json) readable only by its owner: it holds the secret. */
async function writeAgentConfig(file: string, config: ProvisionedAgentConfig): Promise<void> {
  const text = extname(file) === '.json' ? `${JSON.stringify(config, null, 2)}\n` : toYaml(config);
  await writeFile(file, text, { mode: 0o600 });
}

/** `id[,k=v,…]` per line; blank lines and # comments skipped. */
async function readDeviceList(file: string): Promise<CreateDeviceRequest[]> {
  const text = await readFile(file, 'utf8').catch((cause: unknown) => {
    throw new EdgefleetError('BAD_REQUEST', `cannot read ${file}`, { cause });
  });
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      const [id, ...tags] = line.split(/[,\s]+/) as [string, ...string[]];
      return { id, tags: tags.length ? parseTagList(tags.join(',')) : {} };
    });
}

const age = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').slice(0, 19) : '-');

export function registerDeviceCommands(program: Command, ctx: CliContext): void {
  const devices = program.command('devices').description('provision and inspect devices');

  devices
    .command('add')
    .description('provision devices; prints each secret once (bulk: several ids or --from-file)')
    .argument('[ids...]', 'device ids')
    .option('--tags <k=v,...>', 'tags for every device added')
    .option('--from-file <file>', 'one device per line: id[,k=v,...]')
    .option('--agent-config <path>', 'write a ready agent config (one id: a file; several: a directory of <id>.yaml)')
    .option('--json', 'print JSON')
    .action(async (ids: string[], opts: { tags?: string; fromFile?: string; agentConfig?: string }, command: Command) => {
      let tags = {};
      try {
        tags = opts.tags ? parseTagList(opts.tags) : {};
      } catch (cause) {
        throw new EdgefleetError('BAD_REQUEST', `--tags: ${(cause as Error).message}`, { cause });
      }
      const requests: CreateDeviceRequest[] = [...ids.map((id) => ({ id, tags })), ...(opts.fromFile ? await readDeviceList(opts.fromFile) : [])];
      if (!requests.length) throw new EdgefleetError('BAD_REQUEST', 'name at least one device id (or --from-file)');
      const { devices: created } = await ctx.client().send('POST', '/devices/bulk', provisionedDevicesSchema, { devices: requests });
      const written: string[] = [];
      if (opts.agentConfig) {
        if (created.length === 1) {
          await writeAgentConfig(opts.agentConfig, created[0]!.agentConfig);
          written.push(opts.agentConfig);
        } else {
          await mkdir(opts.agentConfig, { recursive: true, mode: 0o700 });
          for (const d of created) {
            const file = join(opts.agentConfig, `${d.device.id}.yaml`);
            await writeAgentConfig(file, d.agentConfig);
            written.push(file);
          }
        }
      }
      if (ctx.wantsJson(command)) return ctx.io.out(json({ devices: created, agentConfigFiles: written }));
      ctx.io.out(table(['DEVICE', 'SECRET (shown once)'], created.map((d: ProvisionedDevice) => [d.device.id, d.secret])));
      for (const f of written) ctx.io.err(`agent config written to ${f} (mode 0600)`);
    });

  devices
    .command('ls')
    .description('list devices')
    .option('--tag <k=v,...>', 'only devices with these tags')
    .option('--status <status>', 'online | offline | never-seen')
    .option('--model <name[@version]>', 'only devices running this model (version)')
    .option('--json', 'print JSON')
    .action(async (opts: { tag?: string; status?: string; model?: string }, command: Command) => {
      const { devices: list } = await ctx.client().get('/devices', deviceListSchema, { tag: opts.tag, status: opts.status, model: opts.model });
      if (ctx.wantsJson(command)) return ctx.io.out(json({ devices: list }));
      ctx.io.out(
        table(
          ['DEVICE', 'STATUS', 'LAST SEEN', 'MODELS', 'GEN (applied/desired)', 'TAGS'],
          list.map((d) => [
            d.id,
            d.status,
            age(d.lastSeen),
            Object.entries(d.models).map(([n, v]) => `${n}@${v}`).join(' ') || '-',
            `${d.appliedGeneration ?? '-'}/${d.desiredGeneration ?? '-'}`,
            Object.entries(d.tags).map(([k, v]) => `${k}=${v}`).join(',') || '-',
          ]),
        ),
      );
    });

  devices
    .command('show')
    .description('one device with its reported and desired state')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const d = await ctx.client().get(`/devices/${encodeURIComponent(id)}`, deviceDetailSchema);
      if (ctx.wantsJson(command)) return ctx.io.out(json(d));
      const lines = [
        `device       ${d.id}`,
        `status       ${d.status} (last seen ${age(d.lastSeen)})`,
        `agent        ${d.agentVersion ?? '-'}`,
        `tags         ${Object.entries(d.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
        `generation   applied ${d.appliedGeneration ?? '-'} / desired ${d.desiredGeneration ?? '-'}`,
        `hardware     ${d.reported?.hardware?.hardwareClass ?? '-'}`,
        '',
        table(
          ['MODEL', 'DESIRED', 'ACTIVE', 'STATE', 'EP', 'LAST ERROR'],
          [...new Set([...(d.desired?.models ?? []).map((m) => m.name), ...(d.reported?.models ?? []).map((m) => m.name)])].map((name) => {
            const want = d.desired?.models.find((m) => m.name === name);
            const have = d.reported?.models.find((m) => m.name === name);
            return [name, want?.version ?? '-', have?.active ?? '-', have?.state ?? '-', have?.ep ?? '-', have?.lastError ? `${have.lastError.code}: ${have.lastError.message}` : '-'];
          }),
        ),
      ];
      ctx.io.out(lines.join('\n'));
    });

  devices
    .command('rm')
    .description('remove a device; its credentials stop working at once')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await ctx.client().send('DELETE', `/devices/${encodeURIComponent(id)}`, undefined);
      ctx.io.out(ctx.wantsJson(command) ? json({ removed: id }) : `removed ${id}`);
    });

  devices
    .command('rotate')
    .description('new credentials for a device: a new secret (printed once; the old one stops working), or with --revoke-key the enrolled device must enrol again')
    .argument('<id>')
    .option('--revoke-key', "revoke an enrolled device's key: its tokens are refused at once; it enrols again with a provisioning key")
    .option('--agent-config <file>', 'write the agent config with the new secret, mode 0600')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { revokeKey?: boolean; agentConfig?: string }, command: Command) => {
      const path = `/devices/${encodeURIComponent(id)}`;
      if (opts.revokeKey) {
        if (opts.agentConfig) throw new EdgefleetError('BAD_REQUEST', '--agent-config: a revoked device gets no config; it enrols again with its provisioning key');
        const change = await ctx.client().send('POST', `${path}/revoke-key`, deviceKeyChangeSchema);
        return ctx.io.out(ctx.wantsJson(command) ? json(change) : `revoked key ${change.previousFingerprint.slice(0, 16)} of ${id}; it must enrol again with a provisioning key`);
      }
      const rotated = await ctx.client().send('POST', `${path}/rotate`, provisionedDeviceSchema);
      if (opts.agentConfig) await writeAgentConfig(opts.agentConfig, rotated.agentConfig);
      if (ctx.wantsJson(command)) return ctx.io.out(json({ ...rotated, agentConfigFile: opts.agentConfig }));
      ctx.io.out(table(['DEVICE', 'NEW SECRET (shown once)'], [[id, rotated.secret]]));
      if (opts.agentConfig) ctx.io.err(`agent config written to ${opts.agentConfig} (mode 0600)`);
      ctx.io.err('the old secret no longer works: put the new one in the agent config and restart the agent');
    });
}
