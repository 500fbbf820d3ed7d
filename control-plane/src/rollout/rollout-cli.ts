/**
 * `edgefleet rollouts create|ls|show|watch|pause|resume|abort|rollback|retry|approve` (issue 7).
 * Flags are turned into the shared create body and validated by the server's schema, so the CLI
 * and REST accept exactly the same rollouts.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import {
  EdgefleetError,
  dryRunPlanSchema,
  gateConfigSchema,
  parseDurationMs,
  parseWaveSpecs,
  rolloutViewSchema,
  type CreateRolloutRequest,
  type DryRunPlan,
  type RolloutView,
} from '@edgefleet/shared';
import { CliExit } from '../cli/cli-exit.js';
import type { CliContext, CliExtension } from '../cli/cli-extension.js';
import { json, table } from '../cli/output.js';
import { followRollout, formatWaitSummary, refusedSummary, waitSummary } from './rollout-wait.js';

interface CreateFlags {
  model: string;
  devices?: string;
  tags?: string;
  all?: boolean;
  waves?: string;
  bake?: string;
  gate?: string[];
  rate?: string;
  jitter?: string;
  approval?: boolean;
  onBreach?: 'halt' | 'rollback';
  deadline?: string;
  startAt?: string;
  schedule?: string;
  window?: string;
  timezone?: string;
  dryRun?: boolean;
  wait?: boolean;
  timeout?: string;
  interval: string;
}

function bad(message: string): EdgefleetError {
  return new EdgefleetError('BAD_REQUEST', message);
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EdgefleetError) throw err;
    throw new EdgefleetError('BAD_REQUEST', `${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** `k=v,k2=v2` → record. */
function parsePairs(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(`${what} ${JSON.stringify(part)}: expected key=value`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** Builds the create body from flags; every bad flag is named. */
export function createRequestFromFlags(flags: CreateFlags): CreateRolloutRequest {
  const at = flags.model.lastIndexOf('@');
  if (at <= 0 || at === flags.model.length - 1) throw bad(`--model ${JSON.stringify(flags.model)}: expected NAME@VERSION`);
  const chosen = [flags.devices !== undefined, flags.tags !== undefined, flags.all === true].filter(Boolean).length;
  if (chosen !== 1) throw bad('choose exactly one target: --devices a,b | --tags k=v | --all');
  const target: CreateRolloutRequest['target'] = flags.all
    ? { kind: 'all' }
    : flags.devices !== undefined
      ? { kind: 'devices', deviceIds: flags.devices.split(',').map((d) => d.trim()).filter(Boolean) }
      : { kind: 'tags', tags: parsePairs(flags.tags ?? '', '--tags') };
  const gates: Record<string, number> = {};
  for (const g of flags.gate ?? []) {
    for (const [k, v] of Object.entries(parsePairs(g, '--gate'))) {
      if (!(k in gateConfigSchema.shape)) throw bad(`--gate ${k}: unknown gate setting; one of ${Object.keys(gateConfigSchema.shape).join(', ')}`);
      const n = Number(v);
      if (!Number.isFinite(n)) throw bad(`--gate ${k}=${v}: not a number`);
      gates[k] = n;
    }
  }
  const strategy: Record<string, unknown> = {};
  if (flags.waves !== undefined) strategy.waves = wrap('--waves', () => parseWaveSpecs(flags.waves!));
  if (flags.bake !== undefined) strategy.bakeMs = wrap('--bake', () => parseDurationMs(flags.bake!));
  if (flags.rate !== undefined) strategy.ratePerMinute = Number(flags.rate);
  if (flags.jitter !== undefined) strategy.jitterMs = wrap('--jitter', () => parseDurationMs(flags.jitter!));
  if (flags.deadline !== undefined) strategy.deviceDeadlineMs = wrap('--deadline', () => parseDurationMs(flags.deadline!));
  if (flags.approval) strategy.manualApproval = true;
  if (flags.onBreach) strategy.onBreach = flags.onBreach;
  const timezone = flags.timezone ?? 'UTC';
  let window: { cron: string; durationMinutes: number; timezone: string } | undefined;
  if (flags.window !== undefined) {
    // "CRON/DURATION", e.g. "0 2 * * */2h": the duration follows the last slash.
    const slash = flags.window.lastIndexOf('/');
    if (slash <= 0) throw bad(`--window ${JSON.stringify(flags.window)}: expected "CRON/DURATION", e.g. "0 2 * * */2h"`);
    window = { cron: flags.window.slice(0, slash).trim(), durationMinutes: Math.round(wrap('--window', () => parseDurationMs(flags.window!.slice(slash + 1))) / 60_000), timezone };
  }
  const schedule = flags.startAt || flags.schedule || window ? { ...(flags.startAt ? { startAt: flags.startAt } : {}), ...(flags.schedule ? { cron: flags.schedule } : {}), timezone, ...(window ? { window } : {}) } : undefined;
  return {
    model: flags.model.slice(0, at),
    version: flags.model.slice(at + 1),
    target,
    strategy: strategy,
    gates: gates,
    ...(schedule ? { schedule } : {}),
    dryRun: flags.dryRun === true,
  };
}

const num = (n: number | undefined): string => (n === undefined ? '-' : Number.isInteger(n) ? String(n) : n.toFixed(3));

export function formatRollout(v: RolloutView): string {
  const head = `${v.id}  ${v.model}@${v.version}  ${v.state}${v.currentWave !== undefined ? `  wave ${v.currentWave + 1}/${v.waves.length}` : ''}`;
  const counts = Object.entries(v.counts).filter(([, n]) => n > 0).map(([s, n]) => `${s}=${n}`).join(' ');
  const waves = table(
    ['WAVE', 'STATE', 'SIZE', 'COUNTS', 'GATES'],
    v.waves.map((w) => [
      String(w.index + 1), w.state, String(w.size),
      Object.entries(w.counts).filter(([, n]) => n > 0).map(([s, n]) => `${s}=${n}`).join(' '),
      w.gates.filter((g) => g.status !== 'pass' || g.value !== undefined).map((g) => `${g.gate}:${g.status}(${num(g.value)}/${num(g.threshold)} n=${g.samples})`).join(' '),
    ]),
  );
  const halt = v.halt ? `\nhalted: ${v.halt.reason}` : '';
  return `${head}\ndevices: ${counts || 'none'}${halt}\n${waves}`;
}

export function formatPlan(p: DryRunPlan): string {
  const rows = p.waves.map((w) => [String(w.index + 1), String(w.deviceIds.length), w.notifyFrom, w.notifyUntil, w.deviceIds.slice(0, 5).join(',') + (w.deviceIds.length > 5 ? ',…' : '')]);
  const skipped = p.skipped.length ? `\nskipped: ${p.skipped.map((s) => `${s.deviceId} (${s.detail})`).join('; ')}` : '';
  return `dry run: ${p.model}@${p.version}, starts ${p.startsAt}\n${table(['WAVE', 'DEVICES', 'FROM', 'UNTIL', 'IDS'], rows)}${skipped}`;
}

export const rolloutCliExtension: CliExtension = (program: Command, ctx: CliContext) => {
  const rollouts = program.command('rollouts').description('Roll a model version out in waves, gated on how it behaves');
  const id = (cmd: Command): string => cmd.args[0]!;
  const show = (cmd: Command, v: RolloutView): void => ctx.io.out(ctx.wantsJson(cmd) ? json(v) : formatRollout(v));

  rollouts
    .command('create')
    .description('Create a rollout (or --dry-run: which devices fall into which wave, and when)')
    .requiredOption('--model <name@version>', 'model version to roll out')
    .option('--devices <ids>', 'target these device ids (comma-separated)')
    .option('--tags <k=v,...>', 'target devices with all these tags')
    .option('--all', 'target every device')
    .option('--waves <list>', 'waves as counts and cumulative percentages, e.g. 1,10%,100%')
    .option('--bake <duration>', 'time each wave runs before its gates decide, e.g. 10m')
    .option('--gate <k=v>', 'gate setting, repeatable, e.g. maxP95LatencyRatio=2', (v: string, prev: string[] = []) => [...prev, v])
    .option('--rate <n>', 'devices notified per minute (0 = unlimited)')
    .option('--jitter <duration>', 'random extra delay per notification')
    .option('--deadline <duration>', 'per-state device deadline')
    .option('--approval', 'wait for `rollouts approve` before each wave after the first')
    .addOption(new Option('--on-breach <action>', 'on a gate breach').choices(['rollback', 'halt']))
    .option('--start-at <iso>', 'start no earlier than this time')
    .option('--schedule <cron>', 'start at the next match of this cron expression')
    .option('--window <cron/duration>', 'maintenance window, e.g. "0 2 * * */2h"')
    .option('--timezone <iana>', 'time zone of --schedule and --window', 'UTC')
    .option('--dry-run', 'show the plan, change nothing')
    .option('--wait', 'follow the rollout until it ends; the exit code says how (0 succeeded, 3 refused, 4 halted, 5 rolled back, 6 aborted, 7 timed out)')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long (the rollout goes on)', '30m')
    .option('--interval <duration>', 'with --wait: refresh period', '2s')
    .option('--json', 'print JSON')
    .action(async (flags: CreateFlags, cmd: Command) => {
      if (!flags.wait) {
        const body = createRequestFromFlags(flags);
        if (body.dryRun) {
          const plan = await ctx.client().send('POST', '/rollouts', dryRunPlanSchema, body);
          ctx.io.out(ctx.wantsJson(cmd) ? json(plan) : formatPlan(plan));
          return;
        }
        show(cmd, await ctx.client().send('POST', '/rollouts', rolloutViewSchema, body));
        return;
      }
      if (flags.dryRun) throw bad('--wait and --dry-run exclude each other');
      const timeoutMs = wrap('--timeout', () => parseDurationMs(flags.timeout ?? '30m'));
      const intervalMs = wrap('--interval', () => parseDurationMs(flags.interval));
      const started = Date.now();
      const print = (text: string): void => (ctx.wantsJson(cmd) ? ctx.io.err(text) : ctx.io.out(text));
      let created: RolloutView;
      try {
        created = await ctx.client().send('POST', '/rollouts', rolloutViewSchema, createRequestFromFlags(flags));
      } catch (err) {
        // Refused: bad flags, or the server answered 4xx (unknown version, invalid strategy, …). Anything else is exit 1.
        const status = err instanceof EdgefleetError ? (err.details as { status?: number } | undefined)?.status : undefined;
        const local = err instanceof EdgefleetError && err.code === 'BAD_REQUEST' && status === undefined;
        if (!(err instanceof EdgefleetError) || !(local || (status !== undefined && status >= 400 && status < 500))) throw err;
        const at = flags.model.lastIndexOf('@');
        const summary = refusedSummary(at > 0 ? flags.model.slice(0, at) : flags.model, at > 0 ? flags.model.slice(at + 1) : '', err, Date.now() - started);
        ctx.io.out(ctx.wantsJson(cmd) ? json(summary) : formatWaitSummary(summary));
        throw new CliExit(summary.exitCode, formatWaitSummary(summary));
      }
      print(`created ${created.id}: ${created.model}@${created.version}, waiting up to ${flags.timeout ?? '30m'}`);
      let last = '';
      const result = await followRollout({
        get: () => ctx.client().get(`/rollouts/${encodeURIComponent(created.id)}`, rolloutViewSchema),
        intervalMs,
        timeoutMs: Math.max(0, timeoutMs - (Date.now() - started)),
        onView: (v) => {
          const status = `${v.state}${v.currentWave !== undefined ? ` wave ${v.currentWave + 1}/${v.waves.length}` : ''} ${Object.entries(v.counts).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ')}`;
          if (status !== last) print(`${new Date().toISOString()} ${status}`);
          last = status;
        },
      });
      const summary = waitSummary({ ...result, waitedMs: Date.now() - started });
      ctx.io.out(ctx.wantsJson(cmd) ? json(summary) : formatWaitSummary(summary));
      if (summary.exitCode !== 0) throw new CliExit(summary.exitCode, formatWaitSummary(summary));
    });

  rollouts
    .command('ls')
    .description('List rollouts')
    .option('--json', 'print JSON')
    .action(async (_flags: unknown, cmd: Command) => {
      const { rollouts: list } = await ctx.client().get('/rollouts', z.object({ rollouts: z.array(rolloutViewSchema) }));
      if (ctx.wantsJson(cmd)) return ctx.io.out(json(list));
      ctx.io.out(table(['ID', 'MODEL', 'STATE', 'WAVE', 'SUCCEEDED', 'FAILED', 'CREATED'], list.map((r) => [
        r.id, `${r.model}@${r.version}`, r.state, r.currentWave === undefined ? '-' : `${r.currentWave + 1}/${r.waves.length}`,
        String(r.counts.succeeded ?? 0), String((r.counts.failed ?? 0) + (r.counts['rolled-back'] ?? 0)), r.createdAt,
      ])));
    });

  rollouts
    .command('show <id>')
    .description('State, waves, per-state device counts and gate values')
    .option('--devices', 'include every device')
    .option('--json', 'print JSON')
    .action(async (rid: string, flags: { devices?: boolean }, cmd: Command) => {
      show(cmd, await ctx.client().get(`/rollouts/${encodeURIComponent(rid)}`, rolloutViewSchema, { devices: flags.devices ? 'true' : undefined }));
    });

  rollouts
    .command('watch <id>')
    .description('Follow a rollout live until it ends')
    .option('--interval <duration>', 'refresh period', '1s')
    .action(async (rid: string, flags: { interval: string }) => {
      const intervalMs = wrap('--interval', () => parseDurationMs(flags.interval));
      let last = '';
      await followRollout({
        get: () => ctx.client().get(`/rollouts/${encodeURIComponent(rid)}`, rolloutViewSchema),
        intervalMs,
        onView: (v) => {
          const text = formatRollout(v);
          if (text !== last) ctx.io.out(`${ctx.io.interactive ? '\x1b[2J\x1b[H' : ''}${new Date().toISOString()}\n${text}\n`);
          last = text;
        },
      });
    });

  for (const [name, description] of [
    ['pause', 'Pause notifications and wave changes'],
    ['resume', 'Resume (or override a halt)'],
    ['rollback', 'Put every touched device back on its previous version'],
    ['retry', 'Notify failed and offline-skipped devices again'],
    ['approve', 'Approve the next wave'],
  ] as const) {
    rollouts
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'print JSON')
      .action(async (_rid: string, _flags: unknown, cmd: Command) => {
        show(cmd, await ctx.client().send('POST', `/rollouts/${encodeURIComponent(id(cmd))}/${name}`, rolloutViewSchema, {}));
      });
  }

  rollouts
    .command('abort <id>')
    .description('Abort: keep what is installed (default) or --revert touched devices')
    .option('--revert', 'put touched devices back on their previous version')
    .option('--json', 'print JSON')
    .action(async (rid: string, flags: { revert?: boolean }, cmd: Command) => {
      show(cmd, await ctx.client().send('POST', `/rollouts/${encodeURIComponent(rid)}/abort`, rolloutViewSchema, { mode: flags.revert ? 'revert' : 'keep' }));
    });
};

/** Runs one `rollouts …` command line on its own program (tests and scripts; the `edgefleet` binary uses the extension). */
export async function runRolloutCli(argv: readonly string[], ctx: CliContext): Promise<void> {
  const program = new Command('edgefleet').exitOverride().option('--json', 'print JSON');
  rolloutCliExtension(program, ctx);
  await program.parseAsync(['node', 'edgefleet', ...argv]);
}
