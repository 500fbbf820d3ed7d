import { describe, expect, it } from 'vitest';
import { deviceIdFromTemplate, type DeviceIdSources } from './device-id.js';

const sources = (over: Partial<{ machineId: string; serial: string; hostname: string }> = {}): DeviceIdSources => ({
  machineId: async () => ('machineId' in over ? over.machineId : '4f1c2a9be07d4d3c9b8a1e2f3a4b5c6d'),
  serial: async () => over.serial,
  hostname: () => over.hostname ?? 'orin-07',
});

describe('device id from a template', () => {
  it.each([
    ['{machine-id}', {}, '4f1c2a9be07d4d3c9b8a1e2f3a4b5c6d'],
    ['cam-{machine-id:8}', {}, 'cam-4f1c2a9b'],
    ['jetson-{serial}', { serial: '1423021061234' }, 'jetson-1423021061234'],
    ['{hostname}.{machine-id:4}', {}, 'orin-07.4f1c'],
  ])('%s', async (template, over, expected) => {
    expect(await deviceIdFromTemplate(template, sources(over))).toBe(expected);
  });

  it.each([
    ['jetson-{serial}', {}, /no serial to fill/],
    ['{machine-id}', { machineId: undefined }, /no machine-id/],
    ['{mac}', {}, /unknown placeholder \{mac\}/],
    ['{hostname}', { hostname: 'bad host!' }, /not a valid device id/],
  ])('%s refused with CONFIG_INVALID', async (template, over, message) => {
    await expect(deviceIdFromTemplate(template, sources(over as never))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) });
  });
});
