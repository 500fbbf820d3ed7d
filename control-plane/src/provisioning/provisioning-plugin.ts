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

export interface ProvisioningPluginOptions extends ProvisioningOptions {
  /** Enrolments per source address: burst and per-second refill. @default 200, 50 */
  perSource?: { capacity: number; perSecond: number };
  /** Enrolments per provisioning key. @default 2000, 500 */
  perKey?: { capacity: number; perSecond: number };
  onStarted?: (service: ProvisioningService) => void;
}

export function provisioningPlugin(options: ProvisioningPluginOptions = {}): ControlPlanePlugin {
  return {
    name: 'provisioning',
    async start(ctx) {
      await ctx.store.migrate('provisioning', PROVISIONING_MIGRATIONS);
      const service = createProvisioningService({
        store: ctx.store,
        provisioning: createProvisioningStore(ctx.store.sql),
        devices: ctx.devices,
        clock: ctx.clock,
        logger: ctx.logger.child({ component: 'provisioning' }),
        options,
      });
      ctx.devices.addCredentialScheme({ claims: claimsDeviceToken, verify: (id, token) => service.verifyDeviceToken(id, token) });
      const limits = {
        perSource: createRateLimiter(options.perSource ?? { capacity: 200, perSecond: 50 }),
        perKey: createRateLimiter(options.perKey ?? { capacity: 2000, perSecond: 500 }),
      };
      for (const route of provisioningRoutes({ service, fleetPublicKeyPem: ctx.fleetPublicKeyPem, limits })) ctx.api.route(route);
      options.onStarted?.(service);
    },
  };
}
