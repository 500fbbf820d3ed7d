/**
 * Zero-touch provisioning (issue 22): provisioning keys, enrolment of devices that prove possession
 * of their own key, approval of pending devices, and the device-key tokens those devices use as
 * broker and HTTP passwords. A plugin with its own tables; it reaches the core only through the
 * device registry (creating devices, adding a credential scheme).
 */
import type { ControlPlanePlugin } from '../plugin.js';
import { createRateLimiter } from './rate-limiter.js';
import { claimsDeviceToken, createProvisioningService, type ProvisioningOptions, type ProvisioningService } from './provisioning-service.js';
import { provisioningRoutes } from './provisioning-routes.js';
import { PROVISIONING_MIGRATIONS, createProvisioningStore } from './provisioning-store.js';

/** Overrides of the `provisioning` config section (tests), and a hook for the started service. */
export interface ProvisioningPluginOptions extends ProvisioningOptions {
  onStarted?: (service: ProvisioningService) => void;
}

export function provisioningPlugin(options: ProvisioningPluginOptions = {}): ControlPlanePlugin {
  return {
    name: 'provisioning',
    async start(ctx) {
      const tables = await ctx.store.tables('provisioning', PROVISIONING_MIGRATIONS);
      const settings = ctx.config.provisioning;
      const service = createProvisioningService({
        store: ctx.store,
        provisioning: createProvisioningStore(tables),
        devices: ctx.devices,
        clock: ctx.clock,
        logger: ctx.logger.child({ component: 'provisioning' }),
        options: { ...settings, ...options },
      });
      ctx.devices.addCredentialScheme({ claims: claimsDeviceToken, verify: (id, token) => service.verifyDeviceToken(id, token) });
      const limits = {
        perSource: createRateLimiter(settings.perSource),
        perKey: createRateLimiter(settings.perKey),
      };
      for (const route of provisioningRoutes({ service, fleetPublicKeyPem: ctx.fleetPublicKeyPem, limits })) ctx.api.route(route);
      options.onStarted?.(service);
    },
  };
}
