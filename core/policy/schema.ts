/**
 * RipplePolicy: one document per base object. Every part (protect, sync, reload) is optional.
 * `ripple render schema` writes schema/ripple-policy.schema.json from this module; `ripple validate` checks
 * files against it with file:line:column errors (see ./load.ts).
 */
import * as z from '../zod.ts';
import { described } from '../zod.ts';
import { ANN_RELOAD_OPT_OUT, OBJECT_KINDS } from '../constants.ts';

export const API_VERSION = 'ripple.dev/v1alpha1';
export const KIND = 'RipplePolicy';
export const DEFAULT_MESSAGE = 'This Secret is protected and may not be altered or deleted.';

const dns1123Label = z
  .string()
  .check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit'), z.maxLength(63));
const dns1123Subdomain = z
  .string()
  .check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and "."'), z.maxLength(253));

/** Duration like `10s`, `500ms`, `2m`. */
export const Duration = z.string().check(z.regex(/^\d+(ms|s|m|h)$/, 'must be a duration such as "500ms", "10s" or "2m"'));

export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`invalid duration "${d}"`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** A label key as Kubernetes validates it (a qualified name): `[prefix/]name`, the prefix a DNS-1123 subdomain. */
const labelKey = z.string().check(
  z.regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(?=[^/]{1,63}$)([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/,
    'must be a label key: an optional DNS-1123 subdomain prefix and "/", then a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
  ),
  z.maxLength(317),
);

/** A label value as Kubernetes validates it: empty, or at most 63 letters, digits, "-", "_" or ".". */
const labelValue = z
  .string()
  .check(
    z.maxLength(63, 'must be a label value: at most 63 characters'),
    z.regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, 'must be a label value: empty, or letters, digits, "-", "_" or ".", starting and ending with a letter or digit'),
  );

/** A list of non-empty strings, empty by default. */
const names = (description: string) => described(z._default(z.array(z.string().check(z.minLength(1))), []), description);

export const LabelSelector = z.strictObject({
  matchLabels: z.optional(
    z.record(z.string(), labelValue).check(
      z.superRefine((labels, ctx) => {
        // Keys checked here rather than as the record's key schema, so the message says what is wrong with the key.
        for (const key of Object.keys(labels)) {
          for (const issue of labelKey.safeParse(key).error?.issues ?? []) ctx.addIssue({ code: 'custom', path: [key], message: issue.message });
        }
      }),
    ),
  ),
  matchExpressions: z.optional(
    z.array(
      z
        .strictObject({
          key: labelKey,
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: z.optional(z.array(labelValue)),
        })
        .check(
          z.superRefine((e, ctx) => {
            const n = e.values?.length ?? 0;
            if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) {
              ctx.addIssue({ code: 'custom', path: ['values'], message: `must list at least one value for operator ${e.operator}` });
            }
            if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && e.values !== undefined && n > 0) {
              ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty for operator ${e.operator}` });
            }
          }),
        ),
    ),
  ),
});
export type LabelSelector = z.infer<typeof LabelSelector>;

/** A cluster of the stage, as EKS names clusters (and as `.ripple/kubeconfig` names its contexts). */
const clusterName = z.string().check(z.regex(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, 'must be a cluster name: letters, digits, "-" and "_", starting with a letter or digit, at most 100 characters'));

export const Source = z.strictObject({
  kind: z.enum(OBJECT_KINDS),
  namespace: dns1123Label,
  name: described(z.optional(dns1123Subdomain), 'The base object. Exactly one of name and selector.'),
  selector: described(
    z.optional(LabelSelector),
    "A set of bases: every object of this kind in this namespace whose labels match (never a copy ripple made, never the base of another policy that syncs or protects it), each copied under its own name, joining and leaving the set as its labels change (a base that leaves is treated as deleted: sync.onSourceDelete). Exactly one of name and selector; not with protect, reload or sync.targetName.",
  ),
  cluster: described(
    z.optional(clusterName),
    "The cluster that holds the object (a cluster of the stage). Default: each cluster's own object, copied within that cluster; with sync.clusters set, the stage's first cluster.",
  ),
}).check(
  z.superRefine((s, ctx) => {
    if (s.name === undefined && s.selector === undefined) ctx.addIssue({ code: 'custom', message: 'must name the base (name) or select a set of bases (selector)' });
    if (s.name !== undefined && s.selector !== undefined) ctx.addIssue({ code: 'custom', path: ['selector'], message: 'name and selector are exclusive: name one base, or select a set of bases by label' });
    if (s.selector && Object.keys(s.selector.matchLabels ?? {}).length === 0 && (s.selector.matchExpressions ?? []).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['selector'], message: 'must have matchLabels or matchExpressions: an empty selector would make every object of the namespace (service-account tokens, Helm releases) a base' });
    }
  }),
);
export type Source = z.infer<typeof Source>;

export const Protect = described(
  z.strictObject({
    /** Operations on the object denied (enforce) or reported (audit); CREATE of the name and DELETE of its namespace are always guarded. */
    operations: described(
      z._default(z.array(z.enum(['UPDATE', 'DELETE'])).check(z.minLength(1)), ['UPDATE', 'DELETE']),
      'Operations on the object denied (enforce) or reported (audit) for everyone but the allowed actors. CREATE of the protected name and DELETE of its namespace are always guarded by admission.',
    ),
    /** Actors allowed to change the base. ripple's own handlers are always allowed. */
    allow: described(
      z._default(
        z.strictObject({
          groups: names('Kubernetes groups allowed to change the object, e.g. system:masters (what cluster-admin is bound to).'),
          users: names('User names allowed to change the object.'),
          /** `namespace/name` of ServiceAccounts. */
          serviceAccounts: described(
            z._default(z.array(z.string().check(z.regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be "namespace/name"'))), []),
            'ServiceAccounts ("namespace/name") allowed to change the object.',
          ),
        }),
        { groups: [], users: [], serviceAccounts: [] },
      ),
      "Actors allowed to change the object. ripple's own handlers (group ripple:protect) are always allowed.",
    ),
    /** enforce: admission denies, and ripple restores changes that slipped through; audit: report only. */
    mode: described(
      z._default(z.enum(['enforce', 'audit']), 'enforce'),
      'enforce: admission denies, and ripple restores changes that slipped through; audit: admission warns and ripple only reports.',
    ),
    message: described(z._default(z.string().check(z.minLength(1)), DEFAULT_MESSAGE), 'Message shown to a denied (or warned) actor.'),
  }),
  'Protect the base object from alteration and deletion.',
);
export type Protect = z.infer<typeof Protect>;

export const Sync = described(
  z.strictObject({
    namespaces: described(
      z._default(
        z.strictObject({
          /** Globs (`*`, `?`) of namespace names to copy into. */
          include: described(
            z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1, 'must list at least one namespace name or glob ("*" = all)')), ['*']),
            'Namespace names or globs (*, ?) to copy into. A default-excluded namespace (kube-*, ripple-system) is included only by its exact name.',
          ),
          /** Globs excluded; `kube-*` and ripple's own namespace are always excluded unless included by exact name. */
          exclude: names('Namespace names or globs never copied into (wins over include).'),
          selector: described(z.optional(LabelSelector), 'Only namespaces whose labels match (Kubernetes label-selector semantics).'),
        }),
        { include: ['*'], exclude: [] },
      ),
      'Which namespaces hold a copy. The source namespace does only under another name (sync.targetName) and when listed by exact name in include; terminating namespaces are skipped.',
    ),
    /** Clusters that receive copies: names of the stage's clusters, or "*" for all of them. */
    clusters: described(
      z.optional(
        z
          .array(z.string().check(z.regex(/^(\*|[0-9A-Za-z][A-Za-z0-9\-_]{0,99})$/, 'must be a cluster name (letters, digits, "-" and "_", starting with a letter or digit, at most 100 characters) or "*"')))
          .check(
            z.minLength(1, 'must list at least one cluster name, or "*" for every cluster of the stage'),
            z.superRefine((list, ctx) => {
              if (list.includes('*') && list.length > 1) ctx.addIssue({ code: 'custom', message: '"*" already means every cluster of the stage: list it alone' });
              const seen = new Set<string>();
              list.forEach((c, i) => {
                if (seen.has(c)) ctx.addIssue({ code: 'custom', path: [i], message: `cluster "${c}" is listed twice` });
                seen.add(c);
              });
            }),
          ),
      ),
      'Clusters that receive copies (the namespace rules apply in each): names of the stage\'s clusters, or "*" for all of them. Default: the source\'s cluster only.',
    ),
    /** Name of the copies (default: the source's name). */
    targetName: described(z.optional(dns1123Subdomain), "Name of the copies (default: the source's name). Exclusive with targetNames."),
    /** Several names: the base copied under each (Kyverno: one base cloned by two rules under two names). */
    targetNames: described(
      z.optional(
        z.array(dns1123Subdomain).check(
          z.minLength(2, 'must list at least two names (one name: targetName)'),
          z.superRefine((list, ctx) => {
            list.forEach((n, i) => {
              if (list.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `name "${n}" is listed twice` });
            });
          }),
        ),
      ),
      'Several names for the copies: the base is copied under each, into the same namespaces (Kyverno users do it with two generate rules). Exclusive with targetName.',
    ),
    /** What happens to copies when the source is deleted. */
    onSourceDelete: described(z._default(z.enum(['keep', 'delete']), 'delete'), 'What happens to the copies when the source is deleted.'),
    /** Which source labels/annotations are propagated to copies (globs of keys). */
    propagate: described(
      z._default(
        z.strictObject({
          labels: described(z._default(z.array(z.string()), ['*']), 'Globs of source label keys copied to the copies.'),
          annotations: described(
            z._default(z.array(z.string()), []),
            'Globs of source annotation keys copied to the copies (kubectl.kubernetes.io/last-applied-configuration never is).',
          ),
        }),
        { labels: ['*'], annotations: [] },
      ),
      'Which source labels and annotations are propagated to the copies.',
    ),
    /** Immutable copies can only be replaced by delete + create; only when this is true. */
    replaceImmutable: described(z._default(z.boolean(), false), 'Replace an immutable copy (delete + create) when the source changes; otherwise report it.'),
    /** `sync`: copies kept equal to the source; `once`: made once per namespace, then left to it (Kyverno's synchronize: false). */
    mode: described(
      z._default(z.enum(['sync', 'once']), 'sync'),
      "sync: every copy is kept equal to the source (edits reverted, deleted copies re-created, source changes propagated). once: a copy is made when a namespace is created or selected, when the source appears, or when the policy is deployed, and then left to the namespace: edits kept, a deleted copy not re-created, source changes and deletion not propagated (Kyverno's synchronize: false).",
    ),
  }).check(
    z.superRefine((s, ctx) => {
      if (s.targetName !== undefined && s.targetNames !== undefined) ctx.addIssue({ code: 'custom', path: ['targetNames'], message: 'targetName and targetNames are exclusive: list every name under targetNames' });
    }),
  ),
  'Clone the base object into namespaces and keep the copies in sync.',
);
export type Sync = z.infer<typeof Sync>;

export const REFERENCE_FORMS = ['env', 'envFrom', 'volume', 'projected'] as const;
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

export const Reload = described(
  z.strictObject({
    kinds: described(z._default(z.array(z.enum(WORKLOAD_KINDS)).check(z.minLength(1)), [...WORKLOAD_KINDS]), 'Workload kinds restarted when the object (or its copy) changes.'),
    /** Which references make a workload a consumer; init containers are always included. */
    references: described(
      z._default(z.array(z.enum(REFERENCE_FORMS)).check(z.minLength(1)), [...REFERENCE_FORMS]),
      'Which references make a workload a consumer: env (valueFrom), envFrom, volume, projected (volume sources). Init containers are always included.',
    ),
    /** Workloads with this annotation set to "false" are never restarted. */
    optOutAnnotation: described(z._default(z.string().check(z.minLength(1)), ANN_RELOAD_OPT_OUT), 'Workloads with this annotation set to "false" are never restarted.'),
    /** Changes arriving within this window for the same workload become one rollout (SQS batching window). */
    coalesce: described(
      z._default(
        Duration.check(z.refine((d) => !/^\d+(ms|s|m|h)$/.test(d) || durationMs(d) <= 300_000, 'must be at most 5m (the SQS batching window limit)')),
        '10s',
      ),
      'Changes arriving within this window become one rollout per workload (the rollout queue batching window; whole seconds, at most 5m).',
    ),
    /** Cluster-wide cap on concurrently running rollout batches (SQS maximum concurrency, 2-1000). */
    maxConcurrency: described(z._default(z.int().check(z.gte(2), z.lte(1000)), 5), 'Cluster-wide cap on concurrently running rollout batches (SQS maximum concurrency, 2-1000).'),
    /** Workloads restarted by name or label, whether or not their pods read the object (Kyverno's mutate.targets). */
    targets: described(
      z.optional(
        z.array(
          z
            .strictObject({
              kind: z.enum(WORKLOAD_KINDS),
              name: described(z.optional(dns1123Subdomain), 'The workload. Exactly one of name and selector.'),
              selector: described(z.optional(LabelSelector), "Every workload of this kind in the changed object's namespace whose labels (metadata.labels) match. Exactly one of name and selector."),
              namespace: described(z.optional(dns1123Label), 'Only when the changed object (the source or a copy) is in this namespace; default: in whichever namespace it is.'),
            })
            .check(
              z.superRefine((t, ctx) => {
                if ((t.name === undefined) === (t.selector === undefined)) ctx.addIssue({ code: 'custom', message: 'must have exactly one of name (one workload) and selector (the workloads whose labels match)' });
                if (t.selector && Object.keys(t.selector.matchLabels ?? {}).length === 0 && (t.selector.matchExpressions ?? []).length === 0) {
                  ctx.addIssue({ code: 'custom', path: ['selector'], message: `must have matchLabels or matchExpressions: an empty selector would restart every ${t.kind} of the namespace on every change (use reload.kinds and the references instead)` });
                }
              }),
            ),
        ).check(z.minLength(1)),
      ),
      "Workloads restarted when the object (or its copy in the workload's namespace) changes, whether or not their pods read it — in addition to the consumers found by reference: by name, or every workload of the kind whose labels match a selector. Kyverno's mutate.targets with a name or a selector.",
    ),
    /** Honour stakater Reloader annotations (`reloader.stakater.com/auto`, `secret.reloader.stakater.com/reload`, …). */
    reloaderAnnotations: described(
      z._default(z.boolean(), false),
      'Honour stakater Reloader annotations (reloader.stakater.com/auto, secret.reloader.stakater.com/reload, configmap.reloader.stakater.com/reload).',
    ),
  }),
  'Restart the workloads that consume the object when its content changes.',
);
export type Reload = z.infer<typeof Reload>;

/** A set's copies carry its policy's name as a label value (constants.ts LABEL_SET): at most 63 characters. */
export const SET_NAME_MAX = 63;

/**
 * What a set of bases (source.selector) cannot have, each with what to do instead:
 * - protect: the last-known-good snapshot and restore are per object, and a set's membership is moved by labels
 *   that admission cannot pin down as one object's CREATE/UPDATE/DELETE: write one policy per base to protect it;
 * - reload: the rollout handler reads a changed object only under the names its role lists (least privilege);
 * - sync.targetName: each base is copied under its own name (two bases would collide under one).
 */
function setRestrictions(
  p: { metadata: { name: string }; spec: { source: { selector?: unknown }; protect?: unknown; reload?: unknown; sync?: { targetName?: string; targetNames?: string[] } } },
  ctx: z.core.$RefinementCtx<unknown>,
): void {
  const spec = p.spec;
  if (spec.source.selector === undefined) return;
  if (p.metadata.name.length > SET_NAME_MAX) {
    ctx.addIssue({ code: 'custom', path: ['metadata', 'name'], message: `must be at most ${SET_NAME_MAX} characters for a set of bases (source.selector): its copies carry it as a label value` });
  }
  if (spec.protect !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['spec', 'protect'], message: 'cannot protect a set of bases chosen by label (source.selector): protect keeps a last-known-good copy of one object, and a set gains and loses members by labels; write a RipplePolicy per base (source.name) to protect it' });
  }
  if (spec.reload !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['spec', 'reload'], message: "cannot reload for a set of bases chosen by label (source.selector): the rollout handler may read only the objects its role names; write a RipplePolicy per base (source.name) with reload, or use the Reloader mode (policies/ripple.config.yaml)" });
  }
  if (spec.sync?.targetNames !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['spec', 'sync', 'targetNames'], message: 'a set of bases (source.selector) copies each base under its own name; drop targetNames, or name one base (source.name) to copy it under several names' });
  }
  if (spec.sync?.targetName !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['spec', 'sync', 'targetName'], message: 'a set of bases (source.selector) copies each base under its own name; drop targetName, or name one base (source.name) to copy it under another name' });
  }
}

export const RipplePolicy = described(
  z.strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(KIND),
    metadata: z.strictObject({
      name: dns1123Subdomain,
      labels: z.optional(z.record(z.string(), z.string())),
      annotations: z.optional(z.record(z.string(), z.string())),
    }),
    spec: z.strictObject({
      source: described(Source, 'The base object (a Secret or ConfigMap in one namespace), or a set of them chosen by label (selector).'),
      protect: z.optional(Protect),
      sync: z.optional(Sync),
      reload: z.optional(Reload),
    }),
  }).check(z.superRefine(setRestrictions)),
  'RipplePolicy: protect a base Secret or ConfigMap, clone it into namespaces and reload its consumers.',
);
/** A policy after defaults are applied. */
export type RipplePolicy = z.infer<typeof RipplePolicy>;
/** A policy as written in YAML (defaults may be missing). */
export type RipplePolicyInput = z.input<typeof RipplePolicy>;
