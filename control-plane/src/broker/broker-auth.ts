import { deviceMayPublish, deviceMaySubscribe, isValidDeviceId, roleAllows, type ApiRole } from '@edgefleet/shared';
import type { Logger } from 'pino';

/** Who an MQTT connection is. Devices get their own subtree; the control plane and operator tokens more. */
export type BrokerPrincipal =
  | { kind: 'device'; deviceId: string }
  | { kind: 'control-plane' }
  | { kind: 'operator'; tokenId: string; role: ApiRole };

/** Usernames that can never be device ids (a device id starts with a letter or digit). */
export const CONTROL_PLANE_USERNAME = '$edgefleet-control-plane';
/** Operators connect with this username and an API token as the password (viewer: read only). */
export const TOKEN_USERNAME = '$token';

export interface BrokerAuthDeps {
  verifyDevice(id: string, secret: string): Promise<boolean>;
  verifyToken(secret: string): Promise<{ id: string; role: ApiRole } | undefined>;
  controlPlanePassword: string;
  logger: Logger;
}

export interface BrokerAuth {
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined): Promise<BrokerPrincipal | undefined>;
  mayPublish(principal: BrokerPrincipal, topic: string): boolean;
  maySubscribe(principal: BrokerPrincipal, filter: string): boolean;
}

/**
 * The broker's security rules in one place, shared by the aedes hooks and tested on their own.
 * Device rules are exactly shared's deviceMayPublish/deviceMaySubscribe (the Mosquitto ACL in
 * deploy/mosquitto mirrors them). Every refusal is logged as a security audit record.
 */
export function createBrokerAuth(deps: BrokerAuthDeps): BrokerAuth {
  const { logger } = deps;
  return {
    async authenticate(clientId, username, password) {
      const secret = password?.toString('utf8') ?? '';
      let principal: BrokerPrincipal | undefined;
      if (username === CONTROL_PLANE_USERNAME) {
        principal = secret.length > 0 && secret === deps.controlPlanePassword ? { kind: 'control-plane' } : undefined;
      } else if (username === TOKEN_USERNAME) {
        const token = await deps.verifyToken(secret);
        principal = token ? { kind: 'operator', tokenId: token.id, role: token.role } : undefined;
      } else if (username && isValidDeviceId(username)) {
        // The client id must name the device too: otherwise device A could take over B's session
        // (same client id) and knock B offline.
        const ownsClientId = clientId === username || clientId.startsWith(`${username}:`) || clientId.startsWith(`${username}-`);
        if (ownsClientId && (await deps.verifyDevice(username, secret))) principal = { kind: 'device', deviceId: username };
      }
      if (!principal) logger.warn({ security: 'mqtt-auth-refused', clientId, username }, 'MQTT connection refused: bad credentials');
      return principal;
    },
    mayPublish(principal, topic) {
      const ok =
        principal.kind === 'control-plane' ||
        (principal.kind === 'operator' && roleAllows(principal.role, 'operator')) ||
        (principal.kind === 'device' && deviceMayPublish(principal.deviceId, topic));
      if (!ok) logger.warn({ security: 'mqtt-publish-refused', principal, topic }, 'MQTT publish refused by ACL');
      return ok;
    },
    maySubscribe(principal, filter) {
      const ok = principal.kind === 'control-plane' || principal.kind === 'operator' || (principal.kind === 'device' && deviceMaySubscribe(principal.deviceId, filter));
      if (!ok) logger.warn({ security: 'mqtt-subscribe-refused', principal, filter }, 'MQTT subscribe refused by ACL');
      return ok;
    },
  };
}
