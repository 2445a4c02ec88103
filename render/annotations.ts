/**
 * What the copy modes (RippleConfig `reflector:` / `replicator:`) add to the rendered files. Kept apart from the
 * policy renderers: a mode is one block per cluster, whatever the number of annotated objects.
 *
 * - clone pattern: Secrets/ConfigMaps of the modes' kinds created, updated or deleted whose event carries one of
 *   the modes' annotation keys (a source, a pull target, a copy: TRIGGER_KEYS), and updates that change
 *   annotations (an allow annotation removed), both except ripple's own writes; namespaces created or relabelled;
 *   resync requests. Its size depends on the enabled tools only, never on objects or names.
 * - RBAC: `ripple-clone-copy-modes-read` (get/list the modes' kinds in every namespace: sources are anywhere in
 *   scope, and the schedule scans them) bound cluster-wide; `ripple-clone-copy-modes-write` (create, update,
 *   delete) bound cluster-wide, or per namespace when every included namespace is an exact name and there is no
 *   namespace selector.
 * - admission: the clone identity may change an object that carries one of the modes' marks (a pull target its
 *   owner annotated, a copy it made), as it may change objects carrying ripple's label (render/admission.ts).
 */
import { DETAIL_TYPES, FIELD_MANAGER, HANDLER_GROUPS, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../core/constants.ts';
import { copyModes, type CopyModeConfig, type RippleConfig } from '../core/config/schema.ts';
import { isGlob } from '../core/policy/select.ts';
import { ANN_REPLICATED_FROM, REFLECTOR, REPLICATOR, TRIGGER_KEYS } from '../functions/clone/annotations/annotations.ts';
import { NO_EVENTS_DETAIL_TYPE } from './patterns.ts';
import type { K8sObject, PolicyRule } from './rbac.ts';

type Pattern = Record<string, unknown>;
const { created, updated, deleted, resync } = DETAIL_TYPES;

const kindsOf = (config: RippleConfig | undefined) => [...new Set(copyModes(config).flatMap((m) => m.cfg.objects.kinds))].sort();

/**
 * The modes' clauses of the clone pattern (empty when no mode is on). `widened`: any Secret/ConfigMap of the
 * modes' kinds (the handler drops, before reading anything, events that carry none of the modes' annotations):
 * used only when the marks do not fit the pattern limit.
 */
export function copyModeClauses(config: RippleConfig | undefined, widened = false): Pattern[] {
  const modes = copyModes(config);
  if (modes.length === 0) return [];
  const kind = kindsOf(config);
  const marks = modes.flatMap((m) => TRIGGER_KEYS[m.tool]).map((k) => ({ annotations: { [k]: [{ exists: true }] } }));
  // not ripple's own writes (copies, pull targets); deletions whoever made them (a copy ripple wrote and someone
  // deleted still names ripple as its last manager)
  const notRipple = [{ detail: { manager: [{ 'anything-but': FIELD_MANAGER }] } }, { detail: { manager: [{ exists: false }] } }];
  return [
    { 'detail-type': [created, updated], detail: widened ? { kind } : { kind, $or: [...marks, { changes: ['annotations'] }] }, $or: notRipple },
    { 'detail-type': [deleted], detail: widened ? { kind } : { kind, $or: marks } },
    { 'detail-type': [created], detail: { kind: ['Namespace'] } },
    { 'detail-type': [updated], detail: { kind: ['Namespace'], changes: ['labels'] } },
    { 'detail-type': [resync] },
  ];
}

/**
 * The clone pattern with the modes' clauses added (unchanged when no mode is on); clauses already there are not
 * repeated. The marks form when it fits `limit`, else the widened one.
 */
export function withCopyModeClauses(pattern: Pattern, config: RippleConfig | undefined, limit = Infinity): Pattern {
  const make = (widened: boolean): Pattern => {
    const extra = copyModeClauses(config, widened);
    if (extra.length === 0) return pattern;
    const { source, ...rest } = pattern;
    const policyClauses: Pattern[] = (rest['detail-type'] as string[] | undefined)?.[0] === NO_EVENTS_DETAIL_TYPE ? [] : Array.isArray(rest.$or) ? (rest.$or as Pattern[]) : [rest];
    const seen = new Set(policyClauses.map((c) => JSON.stringify(c)));
    return { source, $or: [...policyClauses, ...extra.filter((c) => !seen.has(JSON.stringify(c)))] };
  };
  const exact = make(false);
  return JSON.stringify(exact).length <= limit ? exact : make(true);
}

/** Annotation keys that mark an object the clone identity may change for the modes (admission). */
export function copyModeMarks(config: RippleConfig | undefined): string[] {
  return copyModes(config)
    .flatMap((m) => (m.tool === 'reflector' ? [REFLECTOR.reflects] : [REPLICATOR.replicateFrom, ANN_REPLICATED_FROM, REPLICATOR.replicatedKeys]))
    .sort();
}

const RBAC = 'rbac.authorization.k8s.io/v1';
const meta = (name: string, namespace?: string) => ({
  name,
  ...(namespace ? { namespace } : {}),
  labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/part-of': 'ripple', 'app.kubernetes.io/component': 'clone' },
});
const resourcesOf = (config: RippleConfig | undefined) => kindsOf(config).map((k) => (k === 'Secret' ? 'secrets' : 'configmaps'));

/** Namespaces the write role is bound in, or null for cluster-wide (a glob, a selector, or modes that differ). */
function exactNamespaces(modes: { cfg: CopyModeConfig }[]): string[] | null {
  const out = new Set<string>();
  for (const { cfg } of modes) {
    if (cfg.namespaces.selector || cfg.namespaces.include.some(isGlob)) return null;
    for (const n of cfg.namespaces.include) if (!cfg.namespaces.exclude.includes(n)) out.add(n);
  }
  return [...out].sort();
}

export const COPY_MODES_READ = 'ripple-clone-copy-modes-read';
export const COPY_MODES_WRITE = 'ripple-clone-copy-modes-write';

/** The modes' RBAC objects (empty when no mode is on). */
export function renderCopyModeRbac(config: RippleConfig | undefined): K8sObject[] {
  const modes = copyModes(config);
  if (modes.length === 0) return [];
  const resources = resourcesOf(config);
  const readRules: PolicyRule[] = [{ apiGroups: [''], resources, verbs: ['get', 'list'] }];
  const writeRules: PolicyRule[] = [{ apiGroups: [''], resources, verbs: ['create', 'update', 'delete'] }];
  const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: HANDLER_GROUPS.clone }];
  const ref = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name });
  const exact = exactNamespaces(modes);
  return [
    { apiVersion: RBAC, kind: 'ClusterRole', metadata: meta(COPY_MODES_READ), rules: readRules },
    { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: meta(COPY_MODES_READ), roleRef: ref(COPY_MODES_READ), subjects },
    { apiVersion: RBAC, kind: 'ClusterRole', metadata: meta(COPY_MODES_WRITE), rules: writeRules },
    ...(exact === null
      ? [{ apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: meta(COPY_MODES_WRITE), roleRef: ref(COPY_MODES_WRITE), subjects }]
      : exact.map((ns): K8sObject => ({ apiVersion: RBAC, kind: 'RoleBinding', metadata: meta(COPY_MODES_WRITE, ns), roleRef: ref(COPY_MODES_WRITE), subjects }))),
  ];
}
