import { z } from 'zod';
import { modelNameSchema, quantizeRequestSchema, variantListSchema } from '@edgefleet/shared';
import { defineRoute, type AnyRouteSpec } from '../api/route-registry.js';
import type { VariantRegistry } from './variant-registry.js';

const versionParams = z.object({ name: modelNameSchema, version: z.string().min(1).max(64) });

export function variantRoutes(variants: VariantRegistry): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET', url: '/models/:name/versions/:version/variants', summary: 'The INT8/FP16 variants of a version, with their accuracy checks', tags: ['models'], access: 'viewer',
      params: versionParams, response: variantListSchema,
      handler: async ({ params }) => {
        const list = await variants.list(params.name, params.version);
        return { name: params.name, version: list[0]?.version ?? params.version, variants: list };
      },
    }),
    defineRoute({
      method: 'POST', url: '/models/:name/versions/:version/variants',
      summary: 'Make INT8 (dynamic or static) and/or FP16 variants of a version, check them against float32 and store them (rejected below the thresholds)',
      tags: ['models'], access: 'operator', status: 201, params: versionParams, body: quantizeRequestSchema, response: variantListSchema,
      auditTarget: (p) => `model:${p.name}@${p.version}:variants`,
      handler: async ({ params, body, principal }) => {
        const made = await variants.quantize(params.name, params.version, body, principal.actor);
        return { name: params.name, version: made[0]?.version ?? params.version, variants: made };
      },
    }),
  ];
}
