/**
 * Topic builders and parsers for the edgefleet/v1 MQTT contract. docs/protocol.md is the prose twin.
 *
 * Device-scoped topics live under `edgefleet/v1/devices/{deviceId}/...`, so a broker ACL can give
 * each device exactly its own subtree (Mosquitto: `pattern write edgefleet/v1/devices/%u/telemetry`).
 */
export const TOPIC_PREFIX = 'edgefleet/v1';

/** Messages a device publishes (device → control plane). */
export const DEVICE_PUBLISH_CHANNELS = ['reported', 'presence', 'events', 'telemetry', 'command-results', 'artifact-requests'] as const;
/** Messages a device receives (control plane → device). */
export const DEVICE_SUBSCRIBE_CHANNELS = ['desired', 'commands', 'artifact-chunks', 'acks'] as const;

export type DevicePublishChannel = (typeof DEVICE_PUBLISH_CHANNELS)[number];
export type DeviceSubscribeChannel = (typeof DEVICE_SUBSCRIBE_CHANNELS)[number];
export type DeviceChannel = DevicePublishChannel | DeviceSubscribeChannel;

export const DEVICE_CHANNELS: readonly DeviceChannel[] = [...DEVICE_PUBLISH_CHANNELS, ...DEVICE_SUBSCRIBE_CHANNELS];

/** Delivery properties of each channel; docs/protocol.md lists the same table. */
export const CHANNEL_QOS: Record<DeviceChannel, { qos: 0 | 1; retain: boolean; direction: 'device→cp' | 'cp→device' }> = {
  reported: { qos: 1, retain: true, direction: 'device→cp' },
  presence: { qos: 1, retain: true, direction: 'device→cp' },
  events: { qos: 1, retain: false, direction: 'device→cp' },
  telemetry: { qos: 1, retain: false, direction: 'device→cp' },
  'command-results': { qos: 1, retain: false, direction: 'device→cp' },
  'artifact-requests': { qos: 1, retain: false, direction: 'device→cp' },
  desired: { qos: 1, retain: true, direction: 'cp→device' },
  commands: { qos: 1, retain: false, direction: 'cp→device' },
  'artifact-chunks': { qos: 1, retain: false, direction: 'cp→device' },
  acks: { qos: 1, retain: false, direction: 'cp→device' },
};

/** Device ids double as MQTT usernames and topic levels: no wildcards, separators or whitespace. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

export function deviceTopic(deviceId: string, channel: DeviceChannel): string {
  if (!isValidDeviceId(deviceId)) throw new TypeError(`invalid device id for a topic: ${JSON.stringify(deviceId)}`);
  return `${TOPIC_PREFIX}/devices/${deviceId}/${channel}`;
}

/** A subscription filter matching one channel of every device (for the control plane). */
export function allDevicesFilter(channel: DeviceChannel): string {
  return `${TOPIC_PREFIX}/devices/+/${channel}`;
}

/**
 * Shared subscription (`$share/group/filter`) so several control-plane replicas split device
 * traffic; brokers without shared subscriptions get the plain filter.
 */
export function sharedFilter(filter: string, group = 'edgefleet'): string {
  return `$share/${group}/${filter}`;
}

export interface ParsedDeviceTopic {
  deviceId: string;
  channel: DeviceChannel;
}

/** Parses a device topic; returns undefined for anything outside the contract. */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5) return undefined;
  const [a, b, devices, deviceId, channel] = parts as [string, string, string, string, string];
  if (`${a}/${b}` !== TOPIC_PREFIX || devices !== 'devices') return undefined;
  if (!isValidDeviceId(deviceId)) return undefined;
  if (!(DEVICE_CHANNELS as readonly string[]).includes(channel)) return undefined;
  return { deviceId, channel: channel as DeviceChannel };
}

/** True when `username` (a device) may publish to `topic`. The broker ACLs implement exactly this. */
export function deviceMayPublish(deviceId: string, topic: string): boolean {
  const parsed = parseDeviceTopic(topic);
  return parsed !== undefined && parsed.deviceId === deviceId && (DEVICE_PUBLISH_CHANNELS as readonly string[]).includes(parsed.channel);
}

/** True when a device may subscribe to `filter`: only its own inbound channels, no wildcards. */
export function deviceMaySubscribe(deviceId: string, filter: string): boolean {
  if (filter.includes('+') || filter.includes('#')) return false;
  const parsed = parseDeviceTopic(filter);
  return parsed !== undefined && parsed.deviceId === deviceId && (DEVICE_SUBSCRIBE_CHANNELS as readonly string[]).includes(parsed.channel);
}
