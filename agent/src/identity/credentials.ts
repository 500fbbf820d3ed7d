import { readFileSync, statSync } from 'node:fs';
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
  // The key file is read again when it changes (a key rotation renames the new key over it), so the
  // next connect signs with the key the control plane now holds, without a restart.
  const version = (): string => {
    const st = statSync(identity.keyFile);
    return `${st.ino}:${st.mtimeMs}`;
  };
  let loaded = { version: version(), pem: readFileSync(identity.keyFile, 'utf8') };
  const privateKey = (): string => {
    const now = version();
    if (now !== loaded.version) loaded = { version: now, pem: readFileSync(identity.keyFile, 'utf8') };
    return loaded.pem;
  };
  return {
    username,
    password() {
      const iat = Math.floor(now() / 1000);
      return mintDeviceToken({ d: config.deviceId, iat, exp: iat + identity.tokenLifetimeS }, privateKey());
    },
  };
}
