import type { Command } from 'commander';
import { EdgefleetError, apiRoleSchema, apiTokenSchema, createdTokenSchema, tokenListSchema } from '@edgefleet/shared';
import type { CliContext } from '../cli-extension.js';
import { json, table } from '../output.js';

export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const tokens = program.command('tokens').description('API tokens (admin)');

  tokens
    .command('create')
    .description('create an API token; prints the secret once')
    .requiredOption('--role <role>', 'viewer | operator | admin')
    .option('--name <name>', 'who or what uses it', 'cli')
    .option('--json', 'print JSON')
    .action(async (opts: { role: string; name: string }, command: Command) => {
      const role = apiRoleSchema.safeParse(opts.role);
      if (!role.success) throw new EdgefleetError('BAD_REQUEST', `--role must be viewer, operator or admin, not ${opts.role}`);
      const created = await ctx.client().send('POST', '/tokens', createdTokenSchema, { name: opts.name, role: role.data });
      if (ctx.wantsJson(command)) return ctx.io.out(json(created));
      ctx.io.out(created.secret);
      ctx.io.err(`token ${created.token.id} (${created.token.role}) created; the secret above is shown only once`);
    });

  tokens
    .command('ls')
    .description('list API tokens')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, command: Command) => {
      const { tokens: list } = await ctx.client().get('/tokens', tokenListSchema);
      if (ctx.wantsJson(command)) return ctx.io.out(json({ tokens: list }));
      ctx.io.out(table(['ID', 'NAME', 'ROLE', 'CREATED', 'LAST USED', 'REVOKED'], list.map((t) => [t.id, t.name, t.role, t.createdAt, t.lastUsedAt ?? '-', t.revokedAt ?? '-'])));
    });

  tokens
    .command('revoke')
    .description('revoke an API token')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const token = await ctx.client().send('DELETE', `/tokens/${encodeURIComponent(id)}`, apiTokenSchema);
      ctx.io.out(ctx.wantsJson(command) ? json(token) : `revoked ${token.id} (${token.name})`);
    });
}
