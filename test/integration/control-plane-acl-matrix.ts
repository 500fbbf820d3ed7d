import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { deviceTopic, type DeviceChannel } from '@edgefleet/shared';

/**
 * The device ACL matrix, run against any broker (the embedded aedes and Mosquitto with the deploy/
 * ACL): it records what actually got through, not what the broker claimed in a SUBACK.
 */
export interface Creds {
  id: string;
  secret: string;
}

const QUIET_MS = 400;

export async function connect(url: string, options: IClientOptions): Promise<MqttClient> {
  return await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

export async function connectDevice(url: string, creds: Creds, clientId = creds.id): Promise<MqttClient> {
  return await connect(url, { username: creds.id, password: creds.secret, clientId });
}

/** Resolves with the error when the broker refuses the connection, undefined when it accepts it. */
export async function connectRefused(url: string, options: IClientOptions): Promise<Error | undefined> {
  try {
    const client = await connect(url, options);
    await client.endAsync(true);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** Subscribes (a refusal in the SUBACK is fine), then reports which topics' messages arrived. */
export async function receivedAfter(client: MqttClient, filter: string, trigger: () => Promise<void>): Promise<string[]> {
  const got: string[] = [];
  const onMessage = (topic: string): void => void got.push(topic);
  client.on('message', onMessage);
  await client.subscribeAsync(filter, { qos: 1 }).catch(() => undefined);
  await trigger();
  await new Promise((r) => setTimeout(r, QUIET_MS));
  client.off('message', onMessage);
  await client.unsubscribeAsync(filter).catch(() => undefined);
  return got;
}

/** Publishes as `creds` on a fresh connection and reports whether `observer` saw it. */
export async function publishSeen(url: string, creds: Creds, observer: MqttClient, deviceId: string, channel: DeviceChannel): Promise<boolean> {
  const topic = deviceTopic(deviceId, channel);
  const seen = await receivedAfter(observer, topic, async () => {
    const client = await connectDevice(url, creds);
    // aedes disconnects a client after a refused publish; Mosquitto drops the message silently.
    await client.publishAsync(topic, JSON.stringify({ probe: true }), { qos: 0 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    await client.endAsync(true).catch(() => undefined);
  });
  // Clear anything retained by the probe so later checks start clean.
  return seen.includes(topic);
}

export interface AclMatrixResult {
  wrongSecretRefused: boolean;
  unknownUserRefused: boolean;
  ownDesiredReceived: boolean;
  otherDesiredReceived: boolean;
  otherCommandsReceived: boolean;
  wildcardLeaked: boolean;
  ownTelemetryPublished: boolean;
  otherPublished: Record<'telemetry' | 'events' | 'reported' | 'presence', boolean>;
}

/** `observer` must be allowed everything (the control plane's own credentials). */
export async function runAclMatrix(url: string, a: Creds, b: Creds, observer: MqttClient): Promise<AclMatrixResult> {
  const wrongSecretRefused = (await connectRefused(url, { username: a.id, password: `${a.secret}x`, clientId: a.id })) !== undefined;
  const unknownUserRefused = (await connectRefused(url, { username: 'nobody-here', password: 'x', clientId: 'nobody-here' })) !== undefined;

  const clientA = await connectDevice(url, a);
  try {
    const sendTo = (id: string, channel: DeviceChannel) => async () => void (await observer.publishAsync(deviceTopic(id, channel), JSON.stringify({ probe: channel }), { qos: 1 }));
    const ownDesired = await receivedAfter(clientA, deviceTopic(a.id, 'desired'), sendTo(a.id, 'desired'));
    const otherDesired = await receivedAfter(clientA, deviceTopic(b.id, 'desired'), sendTo(b.id, 'desired'));
    const otherCommands = await receivedAfter(clientA, deviceTopic(b.id, 'commands'), sendTo(b.id, 'commands'));
    const wildcard = await receivedAfter(clientA, 'edgefleet/v1/devices/+/commands', sendTo(b.id, 'commands'));
    const everything = await receivedAfter(clientA, '#', sendTo(b.id, 'desired'));
    await clientA.endAsync(true);
    return {
      wrongSecretRefused,
      unknownUserRefused,
      ownDesiredReceived: ownDesired.length > 0,
      otherDesiredReceived: otherDesired.length > 0,
      otherCommandsReceived: otherCommands.length > 0,
      wildcardLeaked: wildcard.length > 0 || everything.some((t) => t.includes(`/${b.id}/`)),
      ownTelemetryPublished: await publishSeen(url, a, observer, a.id, 'telemetry'),
      otherPublished: {
        telemetry: await publishSeen(url, a, observer, b.id, 'telemetry'),
        events: await publishSeen(url, a, observer, b.id, 'events'),
        reported: await publishSeen(url, a, observer, b.id, 'reported'),
        presence: await publishSeen(url, a, observer, b.id, 'presence'),
      },
    };
  } finally {
    await clientA.endAsync(true).catch(() => undefined);
  }
}

export const EXPECTED_MATRIX: AclMatrixResult = {
  wrongSecretRefused: true,
  unknownUserRefused: true,
  ownDesiredReceived: true,
  otherDesiredReceived: false,
  otherCommandsReceived: false,
  wildcardLeaked: false,
  ownTelemetryPublished: true,
  otherPublished: { telemetry: false, events: false, reported: false, presence: false },
};
