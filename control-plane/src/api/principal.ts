import type { ApiRole } from '@edgefleet/shared';

/** The caller of an HTTP request, as the audit log names it. */
export type Principal =
  | { kind: 'anonymous'; actor: 'anonymous' }
  | { kind: 'token'; tokenId: string; name: string; role: ApiRole; actor: string }
  | { kind: 'device'; deviceId: string; actor: string };

export const ANONYMOUS: Principal = { kind: 'anonymous', actor: 'anonymous' };

export const tokenActor = (id: string, name: string): string => `token:${id}:${name}`;
