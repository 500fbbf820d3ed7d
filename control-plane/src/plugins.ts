import type { ControlPlanePlugin } from './plugin.js';
import { dashboardPlugin } from './dashboard/dashboard-plugin.js';
import { telemetryPlugin } from './telemetry/telemetry-plugin.js';
import type { CliExtension } from './cli/cli-extension.js';
import { rolloutCliExtension } from './rollout/rollout-cli.js';
import { rolloutPlugin } from './rollout/rollout-plugin.js';
import { variantCliExtension } from './registry/variant-cli.js';
import { variantsPlugin } from './registry/variants-plugin.js';
import { provisioningCliExtension } from './provisioning/provisioning-cli.js';
import { provisioningPlugin } from './provisioning/provisioning-plugin.js';

/**
 * The plugins `edgefleet server` runs and the CLI commands it offers besides the core ones.
 * Each concern adds its own line here (telemetry, rollouts, dashboard); tests pass their own lists.
 */
export const builtinPlugins: readonly ControlPlanePlugin[] = [dashboardPlugin(), telemetryPlugin(), rolloutPlugin(), variantsPlugin(), provisioningPlugin()];

export const builtinCliExtensions: readonly CliExtension[] = [rolloutCliExtension, variantCliExtension, provisioningCliExtension];
