import { randomUUID } from 'node:crypto';
import { EdgefleetError, type ApiRole, type ApiToken, type CreatedToken } from '@edgefleet/shared';
import type { Clock } from '../clock.js';
import type { Store } from '../store/store.js';
import { generateSecret, hashToken } from './secrets.js';

export const TOKEN_PREFIX = 'eft_';

export interface TokenService {
  create(input: { name: string; role: ApiRole; createdBy: string }): Promise<CreatedToken>;
  /** The live (not revoked) token for a secret, or undefined. */
  authenticate(secret: string): Promise<ApiToken | undefined>;
  list(): Promise<ApiToken[]>;
  /** Throws TOKEN_NOT_FOUND for an unknown id; revoking twice is a no-op. */
  revoke(id: string): Promise<ApiToken>;
}

const publicToken = ({ tokenHash: _hash, ...token }: ApiToken & { tokenHash: string }): ApiToken => token;

export function createTokenService({ store, clock }: { store: Store; clock: Clock }): TokenService {
  return {
    async create({ name, role, createdBy }) {
      const secret = generateSecret(TOKEN_PREFIX);
      const row = { id: randomUUID(), name, role, tokenHash: hashToken(secret), createdAt: clock.now().toISOString(), createdBy };
      await store.tokens.insert(row);
      return { token: publicToken(row), secret };
    },
    async authenticate(secret) {
      if (!secret.startsWith(TOKEN_PREFIX)) return undefined;
      const row = await store.tokens.byHash(hashToken(secret));
      if (!row || row.revokedAt) return undefined;
      await store.tokens.touch(row.id, clock.now().toISOString());
      return publicToken(row);
    },
    async list() {
      return (await store.tokens.list()).map(publicToken);
    },
    async revoke(id) {
      if (!(await store.tokens.get(id))) throw new EdgefleetError('TOKEN_NOT_FOUND', `no API token with id ${id}`);
      await store.tokens.revoke(id, clock.now().toISOString());
      return publicToken((await store.tokens.get(id))!);
    },
  };
}
