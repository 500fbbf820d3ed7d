/**
 * Our own Mosquitto process on a fixed loopback port (anonymous, no persistence), so a fault case
 * can SIGKILL the broker and start a fresh one on the same port, as a crashed broker restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { toolPath } from '../../setup/requirements.mjs';

export const MOSQUITTO_BIN = toolPath('mosquitto');

export interface MosquittoProcess {
  url: string;
  proc: ChildProcess;
  /** Output so far, for failure messages. */
  log(): string;
}

/** Starts Mosquitto on `port` and resolves once a client can connect (retries while the port is still being released). */
export async function startMosquitto(dir: string, port: number, timeoutMs = 10_000, extraConfig: readonly string[] = []): Promise<MosquittoProcess> {
  const conf = join(dir, 'mosquitto.conf');
  // Running as root, Mosquitto drops to the `mosquitto` user; `user root` keeps it able to read the temp dir.
  writeFileSync(conf, [`user root`, `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 10000', ...extraConfig, ''].join('\n'));
  const url = `mqtt://127.0.0.1:${port}`;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const proc = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    for (;;) {
      try {
        const probe = await connectAsync(url, { clientId: `probe-${Date.now()}`, reconnectPeriod: 0, connectTimeout: 1000 });
        await probe.endAsync(true);
        return { url, proc, log: () => out };
      } catch (err) {
        if (proc.exitCode !== null) break;
        if (Date.now() > end) {
          proc.kill('SIGKILL');
          throw new Error(`mosquitto did not start on ${port}: ${(err as Error).message}\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // It exited (e.g. the port was not free yet after a kill): try again until the deadline.
    if (Date.now() > end) throw new Error(`mosquitto exited on ${port}:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
