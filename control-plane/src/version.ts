/** Reported by /healthz and the OpenAPI document; kept in step with package.json. */
export const CONTROL_PLANE_VERSION = '0.1.0';
