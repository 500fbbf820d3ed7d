/**
 * The `edgefleet` executable: wires the CLI, and for `edgefleet server` the control plane with its
 * plugins. Signals are handled here and only here.
 */
import { createControlPlane } from './control-plane.js';
import { runCli } from './cli/program.js';
import { formatCliError, processIo } from './cli/output.js';
import { builtinCliExtensions, builtinPlugins } from './plugins.js';
import type { ControlPlaneConfig } from '@edgefleet/shared';

async function runServer(config: Readonly<ControlPlaneConfig>): Promise<void> {
  const cp = createControlPlane({ config, plugins: builtinPlugins });
  await cp.start();
  cp.logger.info({ adminTokenFile: cp.adminTokenFile }, `admin token file: ${cp.adminTokenFile}`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        cp.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      cp.logger.info({ signal }, 'stopping');
      cp.stop().then(
        () => resolve(),
        (err: unknown) => {
          cp.logger.error({ err }, 'stop failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

process.exitCode = await runCli(process.argv.slice(2), { io: processIo, extensions: builtinCliExtensions, runServer }, formatCliError);
