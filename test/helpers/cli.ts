import { formatCliError, runCli } from '@edgefleet/control-plane';
import type { TestControlPlane } from './control-plane.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs the `edgefleet` CLI in this process against a test control plane, as its admin, capturing output. */
export function cliRunner(h: Pick<TestControlPlane, 'httpUrl' | 'adminToken'>, env: Record<string, string> = {}) {
  return async (...argv: string[]): Promise<CliRun> => {
    let out = '';
    let err = '';
    const io = { out: (s: string) => void (out += s.endsWith('\n') ? s : `${s}\n`), err: (s: string) => void (err += s.endsWith('\n') ? s : `${s}\n`), interactive: false };
    const code = await runCli(argv, { io, env: { EDGEFLEET_SERVER: h.httpUrl, EDGEFLEET_TOKEN: h.adminToken, ...env } }, formatCliError);
    return { code, out, err };
  };
}
