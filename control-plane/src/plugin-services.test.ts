import { describe, expect, it } from 'vitest';
import { createPluginServices, serviceKey } from './plugin-services.js';

describe('plugin services', () => {
  const KEY = serviceKey<{ answer(): number }>('answers');

  it('hands the published service to the plugins that need it', () => {
    const services = createPluginServices();
    expect(services.find(KEY)).toBeUndefined();
    services.provide(KEY, { answer: () => 42 }, 'provider');
    expect(services.need(KEY, 'consumer').answer()).toBe(42);
    expect(services.find(KEY)?.answer()).toBe(42);
  });

  it('names the missing service and who needs it, and refuses a second provider', () => {
    const services = createPluginServices();
    expect(() => services.need(KEY, 'rollouts')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/plugin rollouts needs the answers service/) }));
    services.provide(KEY, { answer: () => 1 }, 'first');
    expect(() => services.provide(KEY, { answer: () => 2 }, 'second')).toThrow(/already provided by plugin first/);
  });
});
