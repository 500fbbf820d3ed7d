/**
 * The operator's API token lives in sessionStorage: it survives reloads of the tab the operator
 * keeps open all day, but not the browser closing, and it is never written into a URL or cookie
 * (so no CSRF surface: every request carries it explicitly as `Authorization: Bearer`).
 */
const KEY = 'edgefleet.token';

export interface Session {
  token(): string | null;
  signIn(token: string): void;
  signOut(): void;
}

export function createSession(storage: Storage = window.sessionStorage): Session {
  return {
    token: () => storage.getItem(KEY),
    signIn: (token) => storage.setItem(KEY, token.trim()),
    signOut: () => storage.removeItem(KEY),
  };
}
