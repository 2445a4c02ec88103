/**
 * What the Reloader mode (RippleConfig `reloader`) adds to the rendered files. Kept apart from the policy
 * renderers (patterns.ts, rbac.ts): the mode is one block per cluster, whatever the number of objects.
 *
 * - rollout pattern: the policy-driven clauses, plus Secrets/ConfigMaps of the mode's kinds Updated with
 *   data/type changes (and Created / Deleted when reloadOnCreate / reloadOnDelete are on), narrowed to the
 *   included namespaces when they are all exact names. Its size depends on the config only, never on the number
 *   of objects or workloads (the handler decides per object and per workload).
 * - RBAC `ripple-rollout-reloader`: what the mode needs on top of the rollout role: read any Secret/ConfigMap of
 *   the mode's kinds (to fingerprint it: the once-only record), namespaces when a namespace selector is set, and
 *   CronJobs (read, record) + Jobs (create). Bound cluster-wide, or per namespace when every included namespace
 *   is an exact name.
 * - rollout settings: the batching window covers the mode's coalesce; `pauseSweep` turns the rollout function's
 *   schedule on (pause periods).
 */
import { DETAIL_TYPES, EVENT_SOURCE, HANDLER_GROUPS, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../core/constants.ts';
import { reloaderMode, type ReloaderConfig, type RippleConfig } from '../core/config/schema.ts';
import { durationMs } from '../core/policy/schema.ts';
import { isGlob } from '../core/policy/select.ts';
import type { K8sObject, PolicyRule } from './rbac.ts';
import { NO_EVENTS_DETAIL_TYPE } from './patterns.ts';
import { inGroup, ONLY_RESTART_ANNOTATIONS, SYSTEM_NAMESPACE } from './admission.ts';

type Pattern = Record<string, unknown>;

/** The mode's clauses of the rollout pattern. */
export function reloaderClauses(cfg: ReloaderConfig): Pattern[] {
  const kind = [...cfg.objects.kinds].sort();
  const exact = cfg.namespaces.include.every((n) => !isGlob(n));
  const namespace = exact ? { namespace: [...new Set(cfg.namespaces.include)].sort() } : {};
  const detail = { kind, ...namespace };
  const out: Pattern[] = [{ 'detail-type': [DETAIL_TYPES.updated], detail: { ...detail, changes: ['data', 'type'] } }];
  const more = [...(cfg.reloadOnCreate ? [DETAIL_TYPES.created] : []), ...(cfg.reloadOnDelete ? [DETAIL_TYPES.deleted] : [])];
  if (more.length) out.push({ 'detail-type': more, detail });
  return out;
}

/** The rollout pattern with the mode's clauses added (unchanged when the mode is off). */
export function withReloaderClauses(pattern: Pattern, config: RippleConfig | undefined): Pattern {
  const cfg = reloaderMode(config);
  if (!cfg) return pattern;
  const { source: _source, ...rest } = pattern;
  const policyClauses: Pattern[] =
    (rest['detail-type'] as string[] | undefined)?.[0] === NO_EVENTS_DETAIL_TYPE ? [] : Array.isArray(rest.$or) ? (rest.$or as Pattern[]) : [rest];
  const or = [...policyClauses, ...reloaderClauses(cfg)];
  return or.length === 1 ? { source: [EVENT_SOURCE], ...or[0] } : { source: [EVENT_SOURCE], $or: or };
}

/** The ClusterRole's rules for the mode. */
export function reloaderRules(cfg: ReloaderConfig): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const resources = cfg.objects.kinds.map((k) => (k === 'Secret' ? 'secrets' : 'configmaps')).sort();
  rules.push({ apiGroups: [''], resources, verbs: ['get'] });
  if (cfg.namespaces.selector) rules.push({ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] });
  if (cfg.kinds.includes('Rollout')) rules.push({ apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'list', 'patch'] });
  if (cfg.kinds.includes('CronJob')) {
    rules.push({ apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get', 'list', 'patch'] });
    rules.push({ apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] });
  }
  return rules;
}

const RBAC = 'rbac.authorization.k8s.io/v1';
const meta = (name: string, namespace?: string) => ({
  name,
  ...(namespace ? { namespace } : {}),
  labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/part-of': 'ripple', 'app.kubernetes.io/component': 'rollout' },
});

/** The mode's RBAC objects (empty when it is off). */
export function renderReloaderRbac(config: RippleConfig | undefined): K8sObject[] {
  const cfg = reloaderMode(config);
  if (!cfg) return [];
  const name = 'ripple-rollout-reloader';
  const role: K8sObject = { apiVersion: RBAC, kind: 'ClusterRole', metadata: meta(name), rules: reloaderRules(cfg) };
  const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: HANDLER_GROUPS.rollout }];
  const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name };
  const exact = cfg.namespaces.include.every((n) => !isGlob(n)) && !cfg.namespaces.selector;
  if (!exact) return [role, { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: meta(name), roleRef, subjects }];
  const namespaces = [...new Set(cfg.namespaces.include)].filter((n) => !cfg.namespaces.exclude.includes(n)).sort();
  return [role, ...namespaces.map((ns): K8sObject => ({ apiVersion: RBAC, kind: 'RoleBinding', metadata: meta(name, ns), roleRef, subjects }))];
}

/** The rollout settings with the mode: the batching window covers its coalesce; the pause-period sweep on or off. */
export function withReloaderSettings(settings: { maximumBatchingWindow: number; maximumConcurrency: number }, config: RippleConfig | undefined) {
  const cfg = reloaderMode(config);
  if (!cfg) return { ...settings, pauseSweep: false };
  return { ...settings, maximumBatchingWindow: Math.max(settings.maximumBatchingWindow, Math.ceil(durationMs(cfg.coalesce) / 1000)), pauseSweep: cfg.kinds.includes('Deployment') };
}

export const RELOADER_ADMISSION_NAME = 'ripple-rollout-reloader-identity';

/**
 * Where RBAC cannot say it (as `ripple-rollout-identity` does for Deployments & co., render/admission.ts): with
 * CronJob among the mode's kinds, the rollout identity may patch CronJobs and create Jobs. Admission holds it to
 * its job: on a CronJob only the jobTemplate's pod-template `ripple.dev/restarted-*` annotations may change (the
 * schedule, the pod spec, its labels stay); a Job it creates must be controlled by a CronJob and carry
 * `ripple.dev/restarted-for`; never in kube-* or ripple-system. What admission cannot check is that the Job's pod
 * spec equals its CronJob's jobTemplate (CEL sees one object): docs/identities.md says what that costs.
 */
export function renderReloaderAdmission(config: RippleConfig | undefined): K8sObject[] {
  const cfg = reloaderMode(config);
  if (!cfg) return [];
  return [...(cfg.kinds.includes('CronJob') ? cronJobAdmission() : []), ...(cfg.kinds.includes('Rollout') ? argoRolloutAdmission() : [])];
}

export const RELOADER_ARGO_ADMISSION_NAME = 'ripple-rollout-reloader-argo-identity';

/** Argo Rollouts: as `ripple-rollout-identity` for Deployments, only the pod template's restart annotations may change. */
function argoRolloutAdmission(): K8sObject[] {
  const tmpl = (o: string, field: 'labels' | 'annotations') => `(has(${o}.spec.template) && has(${o}.spec.template.metadata) && has(${o}.spec.template.metadata.${field}) ? ${o}.spec.template.metadata.${field} : {})`;
  const spec = (o: string) => `(has(${o}.spec.template) && has(${o}.spec.template.spec) ? ${o}.spec.template.spec : {})`;
  return rolloutIdentityAdmission(
    RELOADER_ARGO_ADMISSION_NAME,
    { apiGroups: ['argoproj.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['rollouts'], scope: 'Namespaced' },
    [
      { name: 'newAnnotations', expression: request('object', tmpl) },
      { name: 'oldAnnotations', expression: request('oldObject', tmpl) },
    ],
    [
      { expression: 'request.operation == "UPDATE"', message: "ripple's rollout handler only patches Rollouts", reason: 'Forbidden' },
      {
        expression: [
          `${spec('object')} == ${spec('oldObject')}`,
          `${tmpl('object', 'labels')} == ${tmpl('oldObject', 'labels')}`,
          ...ONLY_RESTART_ANNOTATIONS,
          '(has(object.spec.selector) ? object.spec.selector : {}) == (has(oldObject.spec.selector) ? oldObject.spec.selector : {})',
        ].join(' && '),
        message: "ripple's rollout handler may change only a Rollout's pod template ripple.dev/restarted-* annotations",
        reason: 'Forbidden',
      },
    ],
  );
}

const request = (o: string, tmpl: (o: string, f: 'labels' | 'annotations') => string) => `request.operation == "UPDATE" ? ${tmpl(o, 'annotations')} : {}`;

function cronJobAdmission(): K8sObject[] {
  const q = (s: string) => JSON.stringify(s);
  const tmpl = (o: string, field: 'labels' | 'annotations') =>
    `(has(${o}.spec.jobTemplate.spec.template.metadata) && has(${o}.spec.jobTemplate.spec.template.metadata.${field}) ? ${o}.spec.jobTemplate.spec.template.metadata.${field} : {})`;
  const isCron = 'request.resource.resource == "cronjobs"';
  return rolloutIdentityAdmission(
    RELOADER_ADMISSION_NAME,
    { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['cronjobs', 'jobs'], scope: 'Namespaced' },
    [
      { name: 'newAnnotations', expression: `${isCron} ? ${tmpl('object', 'annotations')} : {}` },
      { name: 'oldAnnotations', expression: `${isCron} && request.operation == "UPDATE" ? ${tmpl('oldObject', 'annotations')} : {}` },
    ],
    [
      { expression: `${isCron} ? request.operation == "UPDATE" : request.operation == "CREATE"`, message: "ripple's rollout handler only patches CronJobs and creates Jobs", reason: 'Forbidden' },
      {
        expression: `!(${isCron}) || (${[
          'object.spec.jobTemplate.spec.template.spec == oldObject.spec.jobTemplate.spec.template.spec',
          `${tmpl('object', 'labels')} == ${tmpl('oldObject', 'labels')}`,
          'object.spec.schedule == oldObject.spec.schedule',
          ...ONLY_RESTART_ANNOTATIONS,
        ].join(' && ')})`,
        message: "ripple's rollout handler may change only a CronJob's jobTemplate ripple.dev/restarted-* annotations",
        reason: 'Forbidden',
      },
      {
        expression: `${isCron} || (has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(o, o.kind == "CronJob" && o.apiVersion == "batch/v1" && has(o.controller) && o.controller) && has(object.spec.template.metadata) && has(object.spec.template.metadata.annotations) && ${q('ripple.dev/restarted-for')} in object.spec.template.metadata.annotations)`,
        message: "ripple's rollout handler creates only Jobs controlled by a CronJob, for a restart (ripple.dev/restarted-for)",
        reason: 'Forbidden',
      },
    ],
  );
}

type Validation = { expression: string; message: string; reason: string };

/**
 * A ValidatingAdmissionPolicy (and its Deny binding) that applies to the rollout identity's requests on `rule`'s
 * resources: never in kube-* or ripple-system, then `validations`.
 */
function rolloutIdentityAdmission(name: string, rule: Record<string, unknown>, variables: { name: string; expression: string }[], validations: Validation[]): K8sObject[] {
  const labels = { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/part-of': 'ripple' };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [rule] },
        matchConditions: [{ name: 'rollout-identity', expression: inGroup(HANDLER_GROUPS.rollout) }],
        variables,
        validations: [{ expression: `!(${SYSTEM_NAMESPACE})`, message: "ripple's rollout handler never acts in kube-* or ripple-system", reason: 'Forbidden' }, ...validations],
      },
    },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name, labels }, spec: { policyName: name, validationActions: ['Deny'] } },
  ];
}
