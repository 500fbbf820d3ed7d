import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { EdgefleetError, deviceIdSchema } from '@edgefleet/shared';
import { parseDeviceTreeModel } from '../hardware/device-tree.js';

/** Where a device id can come from on the device itself; a port so tests need no /etc. */
export interface DeviceIdSources {
  machineId(): Promise<string | undefined>;
  /** The Jetson module's serial number (/proc/device-tree/serial-number). */
  serial(): Promise<string | undefined>;
  hostname(): string;
}

const readTrimmed = async (path: string): Promise<string | undefined> => {
  try {
    return parseDeviceTreeModel(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
};

export function createNodeDeviceIdSources(): DeviceIdSources {
  return {
    machineId: () => readTrimmed('/etc/machine-id'),
    serial: () => readTrimmed('/proc/device-tree/serial-number'),
    hostname: () => hostname(),
  };
}

/**
 * A device id from a template: `{machine-id}`, `{serial}`, `{hostname}`, each optionally cut to its
 * first N characters (`cam-{machine-id:8}`). One image, a different id per device; a placeholder
 * this device cannot fill, or a result that is not a valid id, is a CONFIG_INVALID naming it.
 */
export async function deviceIdFromTemplate(template: string, sources: DeviceIdSources): Promise<string> {
  const values = new Map<string, string | undefined>();
  const placeholders = [...template.matchAll(/\{([a-z-]+)(?::(\d+))?\}/g)];
  for (const [, name = ''] of placeholders) {
    if (values.has(name)) continue;
    if (name === 'machine-id') values.set(name, await sources.machineId());
    else if (name === 'serial') values.set(name, await sources.serial());
    else if (name === 'hostname') values.set(name, sources.hostname());
    else throw new EdgefleetError('CONFIG_INVALID', `provisioning.deviceIdTemplate: unknown placeholder {${name}} (use {machine-id}, {serial} or {hostname})`);
    if (!values.get(name)) throw new EdgefleetError('CONFIG_INVALID', `provisioning.deviceIdTemplate: this device has no ${name} to fill {${name}}; give --device-id or EDGEFLEET_AGENT_DEVICE_ID`);
  }
  const id = template.replace(/\{([a-z-]+)(?::(\d+))?\}/g, (_m, name: string, len: string | undefined) => {
    const value = values.get(name)!;
    return len ? value.slice(0, Number(len)) : value;
  });
  const parsed = deviceIdSchema.safeParse(id);
  if (!parsed.success) throw new EdgefleetError('CONFIG_INVALID', `provisioning.deviceIdTemplate made ${JSON.stringify(id)}, not a valid device id: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}
