/**
 * RipplePolicy: one document per base object. Every part (protect, sync, reload) is optional.
 * `ripple render schema` writes schema/ripple-policy.schema.json from this module; `ripple validate` checks
 * files against it with file:line:column errors (see ./load.ts).
 */
import { z } from 'zod';

export const API_VERSION = 'ripple.dev/v1alpha1';
export const KIND = 'RipplePolicy';
export const DEFAULT_MESSAGE = 'This Secret is protected and may not be altered or deleted.';

const dns1123Label = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit')
  .max(63);
const dns1123Subdomain = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and "."')
  .max(253);

/** Duration like `10s`, `500ms`, `2m`. */
export const Duration = z.string().regex(/^\d+(ms|s|m|h)$/, 'must be a duration such as "500ms", "10s" or "2m"');

export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`invalid duration "${d}"`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[m[2] as 'ms' | 's' | 'm' | 'h'];
}

export const LabelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(z.string()).optional(),
          })
          .strict()
          .superRefine((e, ctx) => {
            const n = e.values?.length ?? 0;
            if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) {
              ctx.addIssue({ code: 'custom', path: ['values'], message: `must list at least one value for operator ${e.operator}` });
            }
            if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && e.values !== undefined && n > 0) {
              ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty for operator ${e.operator}` });
            }
          }),
      )
      .optional(),
  })
  .strict();
export type LabelSelector = z.infer<typeof LabelSelector>;

export const Source = z
  .object({
    kind: z.enum(['Secret', 'ConfigMap']),
    namespace: dns1123Label,
    name: dns1123Subdomain,
  })
  .strict();
export type Source = z.infer<typeof Source>;

export const Protect = z
  .object({
    /** Operations that are denied (enforce) or reported (audit). CREATE is never affected. */
    operations: z.array(z.enum(['UPDATE', 'DELETE'])).min(1).default(['UPDATE', 'DELETE']),
    /** Actors allowed to change the base. ripple's own handlers are always allowed. */
    allow: z
      .object({
        groups: z.array(z.string().min(1)).default([]),
        users: z.array(z.string().min(1)).default([]),
        /** `namespace/name` of ServiceAccounts. */
        serviceAccounts: z.array(z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be "namespace/name"')).default([]),
      })
      .strict()
      .default({ groups: [], users: [], serviceAccounts: [] }),
    /** enforce: admission denies, and ripple restores changes that slipped through; audit: report only. */
    mode: z.enum(['enforce', 'audit']).default('enforce'),
    message: z.string().min(1).default(DEFAULT_MESSAGE),
  })
  .strict();
export type Protect = z.infer<typeof Protect>;

export const Sync = z
  .object({
    namespaces: z
      .object({
        /** Globs (`*`, `?`) of namespace names to copy into. */
        include: z.array(z.string().min(1)).min(1, 'must list at least one namespace name or glob ("*" = all)').default(['*']),
        /** Globs excluded; `kube-*` and ripple's own namespace are always excluded unless included by exact name. */
        exclude: z.array(z.string().min(1)).default([]),
        selector: LabelSelector.optional(),
      })
      .strict()
      .default({ include: ['*'], exclude: [] }),
    /** Name of the copies (default: the source's name). */
    targetName: dns1123Subdomain.optional(),
    /** What happens to copies when the source is deleted. */
    onSourceDelete: z.enum(['keep', 'delete']).default('delete'),
    /** Which source labels/annotations are propagated to copies (globs of keys). */
    propagate: z
      .object({
        labels: z.array(z.string()).default(['*']),
        annotations: z.array(z.string()).default([]),
      })
      .strict()
      .default({ labels: ['*'], annotations: [] }),
    /** Immutable copies can only be replaced by delete + create; only when this is true. */
    replaceImmutable: z.boolean().default(false),
  })
  .strict();
export type Sync = z.infer<typeof Sync>;

export const REFERENCE_FORMS = ['env', 'envFrom', 'volume', 'projected'] as const;
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

export const Reload = z
  .object({
    kinds: z.array(z.enum(WORKLOAD_KINDS)).min(1).default([...WORKLOAD_KINDS]),
    /** Which references make a workload a consumer; init containers are always included. */
    references: z.array(z.enum(REFERENCE_FORMS)).min(1).default([...REFERENCE_FORMS]),
    /** Workloads with this annotation set to "false" are never restarted. */
    optOutAnnotation: z.string().min(1).default('ripple.dev/reload'),
    /** Changes arriving within this window for the same workload become one rollout (SQS batching window). */
    coalesce: Duration.default('10s'),
    /** Cluster-wide cap on concurrently running rollout batches (SQS maximum concurrency, 2-1000). */
    maxConcurrency: z.number().int().min(2).max(1000).default(5),
    /** Honour stakater Reloader annotations (`reloader.stakater.com/auto`, `secret.reloader.stakater.com/reload`, …). */
    reloaderAnnotations: z.boolean().default(false),
  })
  .strict();
export type Reload = z.infer<typeof Reload>;

export const RipplePolicy = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    metadata: z
      .object({
        name: dns1123Subdomain,
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .strict(),
    spec: z
      .object({
        source: Source,
        protect: Protect.optional(),
        sync: Sync.optional(),
        reload: Reload.optional(),
      })
      .strict(),
  })
  .strict();
/** A policy after defaults are applied. */
export type RipplePolicy = z.infer<typeof RipplePolicy>;
/** A policy as written in YAML (defaults may be missing). */
export type RipplePolicyInput = z.input<typeof RipplePolicy>;
