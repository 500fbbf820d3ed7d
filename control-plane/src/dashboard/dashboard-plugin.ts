import type { ControlPlanePlugin } from '../plugin.js';
import { dashboardRoutes, type DashboardRoutesOptions } from './dashboard-routes.js';

/**
 * The dashboard as a control-plane plugin: its page and bundle join the API's HTTP server (same
 * port). Add `dashboardPlugin()` to `builtinPlugins` in plugins.ts.
 */
export function dashboardPlugin(options: DashboardRoutesOptions = {}): ControlPlanePlugin {
  return {
    name: 'dashboard',
    async start(ctx) {
      await ctx.api.app.register(dashboardRoutes, options);
      ctx.logger.info({ path: options.mountPath ?? '/dashboard/' }, 'dashboard mounted');
    },
  };
}
