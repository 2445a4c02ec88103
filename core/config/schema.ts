/**
 * RippleConfig: the one cluster-wide ripple configuration, `ripple.config.yaml` in the policy directory (next to
 * the RipplePolicies; `ripple validate`, `render`, `dev`, `explain` and the handlers read it from there). Every
 * part is optional; a missing file is the defaults (every cluster-wide mode off).
 *
 * `reloader`: stakater Reloader compatibility. Any Secret/ConfigMap in scope restarts the workloads whose
 * annotations (or, with `autoReloadAll`, whose references) say so, with Reloader's semantics and no policy per
 * object. The settings mirror Reloader's flags: `autoReloadAll` = `--auto-reload-all`, `reloadOnCreate` =
 * `--reload-on-create`, `reloadOnDelete` = `--reload-on-delete`, `namespaces.exclude` = `--namespaces-to-ignore`,
 * `namespaces.selector` = `--namespace-selector`, `objects.selector` = `--resource-label-selector`,
 * `objects.kinds` = the complement of `--resources-to-ignore`, `kinds` = the complement of
 * `--ignore-cronjobs` etc. docs/migrating-from-reloader.md maps each one.
 */
import * as z from '../zod.ts';
import { described } from '../zod.ts';
import { DEFAULT_EXCLUDED_NAMESPACES, OBJECT_KINDS } from '../constants.ts';
import { API_VERSION, Duration, durationMs, LabelSelector } from '../policy/schema.ts';

export const CONFIG_KIND = 'RippleConfig';
/** The file name, in the policy directory. The policy loader skips it (it holds no RipplePolicy). */
export const CONFIG_FILE = 'ripple.config.yaml';
export const CONFIG_FILES = [CONFIG_FILE, 'ripple.config.yml'] as const;

/**
 * Workload kinds the Reloader mode restarts (CronJob: a Job is created from its jobTemplate, as Reloader does;
 * Rollout: Argo Rollouts, only when listed, as Reloader's --is-Argo-Rollouts).
 */
export const RELOADER_WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Rollout'] as const;
/** The default kinds: Reloader's (Argo Rollouts need their CRD, and Reloader needs --is-Argo-Rollouts). */
export const RELOADER_DEFAULT_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'] as const;
export type ReloaderWorkloadKind = (typeof RELOADER_WORKLOAD_KINDS)[number];

const flag = (description: string) => described(z._default(z.boolean(), false), description);

export const ReloaderConfig = described(
  z
    .strictObject({
      enabled: flag('Turn the Reloader-compatible mode on: every Secret/ConfigMap in scope is a reload trigger, no policy per object.'),
      namespaces: described(
        z._default(
          z.strictObject({
            include: described(
              z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1, 'must list at least one namespace name or glob ("*" = all)')), ['*']),
              'Namespace names or globs (*, ?) whose Secrets/ConfigMaps and workloads are in scope. kube-* and ripple-system only by exact name.',
            ),
            exclude: described(z._default(z.array(z.string().check(z.minLength(1))), []), "Namespace names or globs never in scope (wins over include); Reloader's --namespaces-to-ignore."),
            selector: described(z.optional(LabelSelector), "Only namespaces whose labels match; Reloader's --namespace-selector."),
          }),
          { include: ['*'], exclude: [] },
        ),
        'Which namespaces are in scope.',
      ),
      objects: described(
        z._default(
          z.strictObject({
            kinds: described(
              z._default(z.array(z.enum(OBJECT_KINDS)).check(z.minLength(1)), [...OBJECT_KINDS]),
              "Which kinds trigger reloads; Reloader's --resources-to-ignore=secrets|configMaps leaves one out.",
            ),
            selector: described(z.optional(LabelSelector), "Only Secrets/ConfigMaps whose labels match; Reloader's --resource-label-selector."),
          }),
          { kinds: [...OBJECT_KINDS] },
        ),
        'Which Secrets and ConfigMaps are reload triggers.',
      ),
      kinds: described(
        z._default(z.array(z.enum(RELOADER_WORKLOAD_KINDS)).check(z.minLength(1)), [...RELOADER_DEFAULT_KINDS]),
        "Workload kinds restarted (a CronJob gets a new Job from its jobTemplate, as Reloader does; Rollout = Argo Rollouts, only when listed, as Reloader's --is-Argo-Rollouts).",
      ),
      autoReloadAll: flag('Reloader\'s --auto-reload-all: every workload counts as reloader.stakater.com/auto: "true" unless it says "false".'),
      reloadOnCreate: flag("Reloader's --reload-on-create: a created Secret/ConfigMap restarts its consumers (never a workload created after it)."),
      reloadOnDelete: flag("Reloader's --reload-on-delete: a deleted Secret/ConfigMap restarts its consumers."),
      coalesce: described(
        z._default(Duration.check(z.refine((d) => !/^\d+(ms|s|m|h)$/.test(d) || durationMs(d) <= 300_000, 'must be at most 5m (the SQS batching window limit)')), '10s'),
        "Changes within this window become one rollout per workload (as a policy's reload.coalesce).",
      ),
    })
    .check(
      z.superRefine((r, ctx) => {
        for (const [i, ns] of r.namespaces.include.entries()) {
          if (ns.includes('/')) ctx.addIssue({ code: 'custom', path: ['namespaces', 'include', i], message: 'must be a namespace name or glob, not contain "/"' });
        }
      }),
    ),
  'stakater Reloader compatibility: annotation-driven restarts for any Secret/ConfigMap in scope.',
);
export type ReloaderConfig = z.infer<typeof ReloaderConfig>;

/** The annotation-driven copy modes: emberstack Reflector's and mittwald Replicator's annotations. */
export const COPY_TOOLS = ['reflector', 'replicator'] as const;
export type CopyTool = (typeof COPY_TOOLS)[number];

/**
 * One copy mode's block (`reflector:` or `replicator:`): on/off and its scope, shaped like `reloader:`. The scope
 * bounds both ends: a source's annotations count only when the source is in scope (namespace and object
 * selector), and a copy is made or pulled only into a namespace in scope, whatever the annotations say.
 */
function copyModeConfig(tool: CopyTool, what: string) {
  return described(
    z
      .strictObject({
        enabled: flag(`Turn the ${what} annotations on: any Secret/ConfigMap in scope may be copied by them, no policy per object.`),
        namespaces: described(
          z._default(
            z.strictObject({
              include: described(
                z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1, 'must list at least one namespace name or glob ("*" = all)')), ['*']),
                'Namespace names or globs (*, ?) in scope, for sources and for copies alike. kube-* and ripple-system only by exact name.',
              ),
              exclude: described(z._default(z.array(z.string().check(z.minLength(1))), []), 'Namespace names or globs never in scope (wins over include): no source read there, no copy made there.'),
              selector: described(z.optional(LabelSelector), 'Only namespaces whose labels match.'),
            }),
            { include: ['*'], exclude: [] },
          ),
          'Which namespaces are in scope (sources and copies).',
        ),
        pushFrom: described(
          z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1, 'must list at least one namespace name or glob ("*" = all, as the tool)')), ['*']),
          `Namespace names or globs whose Secrets/ConfigMaps may push copies into other namespaces (${tool === 'reflector' ? 'reflection-auto-enabled' : 'replicate-to, replicate-to-matching'}). Default "*": any source owner, as ${tool === 'reflector' ? 'Reflector' : 'Replicator'} allows. Pulls are not affected (the source allows those).`,
        ),
        objects: described(
          z._default(
            z.strictObject({
              kinds: described(z._default(z.array(z.enum(OBJECT_KINDS)).check(z.minLength(1)), [...OBJECT_KINDS]), 'Which kinds are copied.'),
              selector: described(z.optional(LabelSelector), 'Only sources whose labels match.'),
            }),
            { kinds: [...OBJECT_KINDS] },
          ),
          'Which Secrets and ConfigMaps may be sources.',
        ),
      })
      .check(
        z.superRefine((r, ctx) => {
          for (const [i, ns] of r.namespaces.include.entries()) {
            if (ns.includes('/')) ctx.addIssue({ code: 'custom', path: ['namespaces', 'include', i], message: 'must be a namespace name or glob, not contain "/"' });
          }
        }),
      ),
    `${what} compatibility (${tool}): annotation-driven copies of any Secret/ConfigMap in scope.`,
  );
}

export const ReflectorConfig = copyModeConfig('reflector', 'emberstack Reflector (reflector.v1.k8s.emberstack.com/*)');
export const ReplicatorConfig = copyModeConfig('replicator', 'mittwald Replicator (replicator.v1.mittwald.de/*)');
export type CopyModeConfig = z.infer<typeof ReflectorConfig>;

export const RippleConfig = described(
  z.strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(CONFIG_KIND),
    metadata: z.optional(z.strictObject({ name: z.optional(z.string().check(z.minLength(1))) })),
    reloader: z.optional(ReloaderConfig),
    reflector: z.optional(ReflectorConfig),
    replicator: z.optional(ReplicatorConfig),
  }),
  'RippleConfig: cluster-wide ripple settings (ripple.config.yaml in the policy directory).',
);
export type RippleConfig = z.infer<typeof RippleConfig>;
export type RippleConfigInput = z.input<typeof RippleConfig>;

/** The configuration when there is no file: every cluster-wide mode off. */
export const DEFAULT_CONFIG: RippleConfig = RippleConfig.parse({ apiVersion: API_VERSION, kind: CONFIG_KIND });

/** The Reloader mode's settings when it is on, else null. */
export function reloaderMode(config: RippleConfig | null | undefined): ReloaderConfig | null {
  const r = config?.reloader;
  return r?.enabled ? r : null;
}

/** The copy modes that are on (Reflector's and Replicator's annotations), in a fixed order. */
export function copyModes(config: RippleConfig | null | undefined): { tool: CopyTool; cfg: CopyModeConfig }[] {
  return COPY_TOOLS.flatMap((tool) => (config?.[tool]?.enabled ? [{ tool, cfg: config[tool] }] : []));
}

/** One line on a copy mode's scope (`ripple validate`, `ripple dev`). */
export function describeCopyMode(c: CopyModeConfig): string {
  return `namespaces ${c.namespaces.include.join(',')}${c.namespaces.exclude.length ? ` minus ${c.namespaces.exclude.join(',')}` : ''}${c.namespaces.selector ? ' (selector)' : ''}; ${c.objects.kinds.join(', ')}${c.objects.selector ? ' (selector)' : ''}${c.pushFrom.join(',') === '*' ? '' : `; pushes only from ${c.pushFrom.join(',')}`}`;
}

/** One line on the Reloader mode's settings (`ripple validate`, `ripple dev`). */
export function describeReloader(r: ReloaderConfig): string {
  const flags = (['autoReloadAll', 'reloadOnCreate', 'reloadOnDelete'] as const).filter((f) => r[f]);
  return `namespaces ${r.namespaces.include.join(',')}${r.namespaces.exclude.length ? ` minus ${r.namespaces.exclude.join(',')}` : ''}${r.namespaces.selector ? ' (selector)' : ''}; ${r.objects.kinds.join(', ')} -> ${r.kinds.join(', ')}${flags.length ? `; ${flags.join(', ')}` : ''}`;
}

/** Namespaces never in scope unless included by exact name (as for sync). */
export const RELOADER_DEFAULT_EXCLUDED = DEFAULT_EXCLUDED_NAMESPACES;
