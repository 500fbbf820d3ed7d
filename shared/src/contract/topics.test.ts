import { describe, expect, it } from 'vitest';
import { CHANNEL_QOS, allDevicesFilter, deviceMayPublish, deviceMaySubscribe, deviceTopic, parseDeviceTopic, sharedFilter } from './topics.js';

describe('topics', () => {
  it('builds and parses device topics', () => {
    const topic = deviceTopic('cam-01', 'telemetry');
    expect(topic).toBe('edgefleet/v1/devices/cam-01/telemetry');
    expect(parseDeviceTopic(topic)).toEqual({ deviceId: 'cam-01', channel: 'telemetry' });
    expect(allDevicesFilter('reported')).toBe('edgefleet/v1/devices/+/reported');
    expect(sharedFilter(allDevicesFilter('events'))).toBe('$share/edgefleet/edgefleet/v1/devices/+/events');
  });

  it.each(['a/b', 'edgefleet/v2/devices/x/telemetry', 'edgefleet/v1/devices/x/unknown', 'edgefleet/v1/devices/x/telemetry/extra', 'edgefleet/v1/devices/+/telemetry', 'edgefleet/v1/nodes/x/telemetry', ''])(
    'rejects %j',
    (topic) => expect(parseDeviceTopic(topic)).toBeUndefined(),
  );

  it('refuses to build a topic from an id with separators or wildcards', () => {
    for (const id of ['a/b', '+', '#', '', 'a b', '../x']) expect(() => deviceTopic(id, 'desired')).toThrow(TypeError);
  });

  it('lets a device publish only its own outbound channels', () => {
    expect(deviceMayPublish('a', 'edgefleet/v1/devices/a/telemetry')).toBe(true);
    expect(deviceMayPublish('a', 'edgefleet/v1/devices/a/reported')).toBe(true);
    expect(deviceMayPublish('a', 'edgefleet/v1/devices/b/telemetry')).toBe(false);
    expect(deviceMayPublish('a', 'edgefleet/v1/devices/a/desired')).toBe(false);
    expect(deviceMayPublish('a', 'edgefleet/v1/devices/a/commands')).toBe(false);
    expect(deviceMayPublish('a', 'other/topic')).toBe(false);
  });

  it('lets a device subscribe only to its own inbound channels, without wildcards', () => {
    expect(deviceMaySubscribe('a', 'edgefleet/v1/devices/a/desired')).toBe(true);
    expect(deviceMaySubscribe('a', 'edgefleet/v1/devices/a/artifact-chunks')).toBe(true);
    expect(deviceMaySubscribe('a', 'edgefleet/v1/devices/b/desired')).toBe(false);
    expect(deviceMaySubscribe('a', 'edgefleet/v1/devices/+/desired')).toBe(false);
    expect(deviceMaySubscribe('a', 'edgefleet/v1/devices/a/#')).toBe(false);
    expect(deviceMaySubscribe('a', '#')).toBe(false);
    expect(deviceMaySubscribe('a', 'edgefleet/v1/devices/a/telemetry')).toBe(false);
  });

  it('gives a device its own acks channel to read, never to write, and never another device\'s', () => {
    expect(CHANNEL_QOS.acks).toEqual({ qos: 1, retain: false, direction: 'cp→device' });
    expect(deviceMaySubscribe('a', 'edgefleet/v1/devices/a/acks')).toBe(true);
    expect(deviceMaySubscribe('a', 'edgefleet/v1/devices/b/acks')).toBe(false);
    expect(deviceMayPublish('a', 'edgefleet/v1/devices/a/acks')).toBe(false);
    expect(deviceMayPublish('a', 'edgefleet/v1/devices/b/acks')).toBe(false);
  });
});
