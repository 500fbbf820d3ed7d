import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per control plane (no prom-client global), so tests can run several side by side. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'edgefleet_cp_' });
  return {
    registry,
    /** Called before each scrape to refresh gauges that are cheaper to compute on demand. */
    beforeScrape: [] as (() => void | Promise<void>)[],
    devices: new Gauge({ name: 'edgefleet_devices', help: 'Registered devices by presence status', labelNames: ['status'] as const, registers: [registry] }),
    mqttClients: new Gauge({ name: 'edgefleet_mqtt_connected_clients', help: 'Clients connected to the embedded broker', registers: [registry] }),
    deviceMessages: new Counter({ name: 'edgefleet_device_messages_total', help: 'Device messages received by channel', labelNames: ['channel'] as const, registers: [registry] }),
    artifactBytes: new Counter({ name: 'edgefleet_artifact_bytes_served_total', help: 'Artifact bytes sent over MQTT chunks', registers: [registry] }),
    artifactRefusals: new Counter({ name: 'edgefleet_artifact_requests_refused_total', help: 'Artifact chunk requests answered with an error', labelNames: ['code'] as const, registers: [registry] }),
    desiredPublished: new Counter({ name: 'edgefleet_desired_states_published_total', help: 'Desired-state generations published', registers: [registry] }),
    leaseLeader: new Gauge({ name: 'edgefleet_lease_leader', help: '1 on the replica that holds the singleton lease (rollouts, schedules, retention), 0 on the others', labelNames: ['replica'] as const, registers: [registry] }),
    leaseToken: new Gauge({ name: 'edgefleet_lease_token', help: 'Fencing token of the lease term this replica holds or last saw', labelNames: ['replica'] as const, registers: [registry] }),
    httpRequests: new Counter({ name: 'edgefleet_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'] as const, registers: [registry] }),
  };
}
export type ControlPlaneMetrics = ReturnType<typeof createMetrics>;
