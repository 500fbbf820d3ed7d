import { readFileSync } from 'node:fs';
import { mintDeviceToken, type AgentConfig } from '@edgefleet/shared';

/** The device's broker and HTTP login: a fixed secret (simple mode) or a fresh token signed by its own key. */
export interface DeviceCredentials {
  username: string;
  /** Called for every connect and request, so a token is never older than its lifetime allows. */
  password(): string | undefined;
}

export function createDeviceCredentials(config: Readonly<Pick<AgentConfig, 'deviceId' | 'broker' | 'identity'>>, now: () => number = Date.now): DeviceCredentials {
  const username = config.broker.username ?? config.deviceId;
  const identity = config.identity;
  if (!identity) return { username, password: () => config.broker.password };
  const privateKeyPem = readFileSync(identity.keyFile, 'utf8');
  return {
    username,
    password() {
      const iat = Math.floor(now() / 1000);
      return mintDeviceToken({ d: config.deviceId, iat, exp: iat + identity.tokenLifetimeS }, privateKeyPem);
    },
  };
}
