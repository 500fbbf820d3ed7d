/**
 * Model variants (issue 19): their table, the registry that makes and checks them, and their REST
 * routes. A plugin so the core model registry stays as it is; the CLI side is variant-cli.ts.
 */
import { loadOrCreateFleetKey } from '../auth/fleet-key.js';
import type { ControlPlanePlugin } from '../plugin.js';
import { createVariantRegistry, type VariantRegistry } from './variant-registry.js';
import { variantRoutes } from './variant-routes.js';
import { VARIANT_MIGRATIONS, createVariantStore } from './variant-store.js';

export function variantsPlugin(options: { onStarted?: (variants: VariantRegistry) => void } = {}): ControlPlanePlugin {
  return {
    name: 'variants',
    async start(ctx) {
      const tables = await ctx.store.tables('variants', VARIANT_MIGRATIONS);
      // The fleet key exists by now (the core loaded or made it); variants are signed with it too.
      const keys = await loadOrCreateFleetKey(ctx.config.dataDir, ctx.logger);
      const variants = createVariantRegistry({
        store: createVariantStore(tables),
        models: ctx.models,
        artifacts: ctx.artifacts,
        clock: ctx.clock,
        logger: ctx.logger.child({ component: 'variants' }),
        signingKeyPem: keys.privateKeyPem,
      });
      for (const route of variantRoutes(variants)) ctx.api.route(route);
      options.onStarted?.(variants);
    },
  };
}
