import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { TokenService } from './token-service.js';

export const ADMIN_TOKEN_FILE = 'admin.token';

/**
 * On first start (no tokens at all) creates an admin token and writes it to DIR/admin.token (0600):
 * the one way into a fresh server. Returns the file path and, when created now, the secret.
 */
export async function bootstrapAdminToken(dataDir: string, store: Store, tokens: TokenService, logger: Logger): Promise<{ file: string; secret?: string }> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if ((await store.tokens.list()).length > 0) return { file };
  const created = await tokens.create({ name: 'bootstrap-admin', role: 'admin', createdBy: 'server' });
  await writeFile(file, `${created.secret}\n`, { mode: 0o600 });
  logger.info({ file }, `created the first admin API token; it is in ${file} (mode 0600)`);
  return { file, secret: created.secret };
}
