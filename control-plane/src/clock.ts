/** Time as a port, so tests can drive presence, timeouts and audit stamps deterministically. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
