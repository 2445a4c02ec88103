/**
 * ValidatingAdmissionPolicies (infra/k8s/admission/): the API server itself refuses what would route round a
 * protected base, for anyone but the allowed actors, with the policy's message.
 *
 * Per protected base (`<policy>.yaml`):
 * - `ripple-protect-<policy>`: CREATE of the protected name (admission sees the name on the object; a generateName
 *   request has no name in its attributes, so CREATE is matched on `object.metadata.name` in a match condition rather
 *   than by `resourceNames`), and the policy's operations (UPDATE/DELETE) on the object. The namespace controller is
 *   exempt for DELETE: it removes what is left in a namespace whose deletion an allowed actor started (the namespace
 *   policy below refuses everyone else), and blocking it would leave the namespace Terminating for ever.
 * - `ripple-protect-<policy>-namespace`: DELETE of the namespace that holds the base, so deleting the namespace is no
 *   way round protecting the object in it.
 * - enforce -> validationActions [Deny]; audit -> [Audit, Warn] (the actor sees a warning, the audit log records it).
 *
 * Once (`_ripple-system.yaml`, a name no policy can have): ripple's own namespace (last-known-good snapshots, the
 * fingerprint key) may be deleted only by system:masters, and its Secrets written only by system:masters and by
 * ripple within its job: the protect handler its `ripple-snapshot-*` Secrets, the forwarder the key's first
 * creation. Always Deny.
 *
 * Allowed actors: request.userInfo groups (allow.groups + ripple's protect handler group, always), usernames
 * (allow.users, and `system:serviceaccount:<ns>:<name>` for allow.serviceAccounts).
 */
import { ANN_POLICY, FINGERPRINT_KEY_SECRET, FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, LABEL_MANAGED_BY, MANAGED_BY_VALUE, NAMESPACE_CONTROLLER_USERS, RIPPLE_NAMESPACE, SNAPSHOT_PREFIX } from '../core/constants.ts';
import type { RipplePolicy } from '../core/policy/schema.ts';
import { baseName } from '../core/policy/select.ts';
import type { K8sObject } from './rbac.ts';

const RESOURCE: Record<string, string> = { Secret: 'secrets', ConfigMap: 'configmaps' };
const LABELS = { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/part-of': 'ripple', 'app.kubernetes.io/component': 'protect' };

/** A CEL string literal (JSON string escapes are valid CEL escapes). */
/** The request's namespace is being deleted: the only time the namespace controller deletes what is in it. */
const TERMINATING = 'namespaceObject != null && has(namespaceObject.metadata.deletionTimestamp)';

export function celString(s: string): string {
  return JSON.stringify(s);
}
const celList = (xs: string[]) => `[${xs.map(celString).join(', ')}]`;

export function admissionPolicyName(p: RipplePolicy): string {
  return `ripple-protect-${p.metadata.name}`;
}

/** The CEL expression that is true for an allowed actor. */
export function exemptExpression(p: RipplePolicy): string {
  const allow = p.spec.protect!.allow;
  const groups = [...new Set([HANDLER_GROUPS.protect, ...allow.groups])];
  const users = [...new Set([...allow.users, ...allow.serviceAccounts.map((sa) => `system:serviceaccount:${sa.replace('/', ':')}`)])];
  const parts = [`(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in ${celList(groups)}))`];
  if (users.length > 0) parts.push(`(has(request.userInfo.username) && request.userInfo.username in ${celList(users)})`);
  return parts.join(' || ');
}


const vap = (name: string, annotations: Record<string, string>, spec: Record<string, unknown>): K8sObject => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicy',
  metadata: { name, labels: LABELS, annotations },
  spec: { failurePolicy: 'Fail', ...spec },
});
const vapBinding = (name: string, annotations: Record<string, string>, actions: string[]): K8sObject => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name, labels: LABELS, annotations },
  spec: { policyName: name, validationActions: actions },
});
const byName = (ns: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });

/** The policies and bindings for one protected object (null when the policy does not protect). */
export function renderAdmission(p: RipplePolicy): K8sObject[] | null {
  const protect = p.spec.protect;
  if (!protect) return null;
  const s = { ...p.spec.source, name: baseName(p) };
  const name = admissionPolicyName(p);
  const annotations = { [ANN_POLICY]: p.metadata.name };
  const actions = protect.mode === 'enforce' ? ['Deny'] : ['Audit', 'Warn'];
  const objectRule = (operations: string[], names?: string[]) => ({
    apiGroups: [''],
    apiVersions: ['v1'],
    operations,
    resources: [RESOURCE[s.kind]],
    ...(names ? { resourceNames: names } : {}),
    scope: 'Namespaced',
  });
  const controller = celList(NAMESPACE_CONTROLLER_USERS);
  const policy = vap(name, annotations, {
    matchConstraints: {
      resourceRules: [objectRule(['CREATE']), objectRule([...protect.operations], [s.name])],
      namespaceSelector: byName(s.namespace),
    },
    matchConditions: [{ name: 'protected-name', expression: `request.operation != "CREATE" || object.metadata.name == ${celString(s.name)}` }],
    variables: [{ name: 'exempt', expression: exemptExpression(p) }],
    validations: [
      {
        expression: `variables.exempt || (request.operation == "DELETE" && has(request.userInfo.username) && request.userInfo.username in ${controller} && ${TERMINATING})`,
        messageExpression: celString(protect.message),
        reason: 'Forbidden',
      },
    ],
  });
  const nsName = `${name}-namespace`;
  const nsMessage = `Namespace ${s.namespace} holds ${s.kind} ${s.namespace}/${s.name}, protected by ripple policy ${p.metadata.name}: only its allowed actors may delete the namespace. ${protect.message}`;
  const namespacePolicy = vap(nsName, annotations, {
    matchConstraints: {
      resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['namespaces'], resourceNames: [s.namespace], scope: 'Cluster' }],
    },
    variables: [{ name: 'exempt', expression: exemptExpression(p) }],
    validations: [{ expression: 'variables.exempt', messageExpression: celString(nsMessage), reason: 'Forbidden' }],
  });
  return [policy, vapBinding(name, annotations, actions), namespacePolicy, vapBinding(nsName, annotations, actions)];
}

export const SYSTEM_ADMISSION_NAME = 'ripple-protect-system';

/** ripple's own namespace and the Secrets in it (snapshots, fingerprint key): always rendered, always Deny. */
export function renderSystemAdmission(): K8sObject[] {
  const annotations = { [ANN_POLICY]: '' };
  const masters = '(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g == "system:masters"))';
  // the protect handler writes only its snapshots; the forwarder only creates the fingerprint key; nobody but
  // system:masters changes the key afterwards
  const protectWrites = `(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g == ${celString(HANDLER_GROUPS.protect)}) && variables.name.startsWith(${celString(SNAPSHOT_PREFIX)}))`;
  const forwarderCreatesKey = `(has(request.userInfo.username) && request.userInfo.username == ${celString(`system:serviceaccount:${RIPPLE_NAMESPACE}:${FORWARDER_SERVICE_ACCOUNT}`)} && request.operation == "CREATE" && variables.name == ${celString(FINGERPRINT_KEY_SECRET)})`;
  const writers = `${protectWrites} || ${forwarderCreatesKey}`;
  const controller = `(request.operation == "DELETE" && has(request.userInfo.username) && request.userInfo.username in ${celList(NAMESPACE_CONTROLLER_USERS)} && ${TERMINATING})`;
  const policy = vap(SYSTEM_ADMISSION_NAME, annotations, {
    matchConstraints: {
      resourceRules: [
        { apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['namespaces'], resourceNames: [RIPPLE_NAMESPACE], scope: 'Cluster' },
        { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['secrets'], scope: 'Namespaced' },
      ],
    },
    // the Secrets rule is for ripple's namespace only; the namespace rule names it already
    matchConditions: [{ name: 'ripple-namespace', expression: `request.resource.resource == "namespaces" || request.namespace == ${celString(RIPPLE_NAMESPACE)}` }],
    // a created object's name is on the object (generateName included); otherwise in the request
    variables: [{ name: 'name', expression: 'request.operation == "CREATE" ? object.metadata.name : request.name' }],
    validations: [
      {
        expression: `${masters} || (request.resource.resource == "secrets" && (${writers} || ${controller}))`,
        messageExpression: celString(`${RIPPLE_NAMESPACE} holds ripple's last-known-good snapshots and fingerprint key: only ripple and system:masters may change its Secrets or delete it.`),
        reason: 'Forbidden',
      },
    ],
  });
  return [policy, vapBinding(SYSTEM_ADMISSION_NAME, annotations, ['Deny'])];
}

export const CLONE_ADMISSION_NAME = 'ripple-clone-identity';
export const ROLLOUT_ADMISSION_NAME = 'ripple-rollout-identity';
/** The request is in a system namespace (kube-* or ripple's own), where no handler identity writes. */
export const SYSTEM_NAMESPACE = `request.namespace.startsWith("kube-") || request.namespace == ${celString(RIPPLE_NAMESPACE)}`;
/** The requester is in group `g` (how the handler identities are told apart). */
export const inGroup = (g: string) => `has(request.userInfo.groups) && request.userInfo.groups.exists(g, g == ${celString(g)})`;
/**
 * Between `variables.oldAnnotations` and `variables.newAnnotations` (a pod template's), only ripple's restart
 * annotations (`ripple.dev/restarted-*`) were added, changed or removed.
 */
export const ONLY_RESTART_ANNOTATIONS = [
  'variables.newAnnotations.all(k, k.startsWith("ripple.dev/restarted-") || (k in variables.oldAnnotations && variables.oldAnnotations[k] == variables.newAnnotations[k]))',
  'variables.oldAnnotations.all(k, k.startsWith("ripple.dev/restarted-") || k in variables.newAnnotations)',
];

/**
 * Where RBAC cannot say it (no label or field conditions, no "any namespace but these"), admission bounds the
 * clone and rollout identities to their jobs (`_ripple-identities.yaml`, always Deny):
 * - clone writes only Secrets/ConfigMaps that carry ripple's ownership label, before and after the write, and
 *   never in `kube-*` or ripple-system;
 * - rollout changes only the pod template's `ripple.dev/restarted-*` annotations, never in `kube-*` or
 *   ripple-system: a pod-template patch could otherwise change the image or the service account.
 */
export function renderIdentityAdmission(policies: RipplePolicy[] = [], copyModeMarks: readonly string[] = []): K8sObject[] {
  const annotations = { [ANN_POLICY]: '' };
  const labelled = (o: string) => `has(${o}.metadata.labels) && ${celString(LABEL_MANAGED_BY)} in ${o}.metadata.labels && ${o}.metadata.labels[${celString(LABEL_MANAGED_BY)}] == ${celString(MANAGED_BY_VALUE)}`;
  // the copy modes (ripple.config.yaml reflector/replicator, render/annotations.ts): a pull target or a copy carries one of these annotations
  const annotated = (o: string) => copyModeMarks.map((k) => `(has(${o}.metadata.annotations) && ${celString(k)} in ${o}.metadata.annotations)`);
  const marked = (o: string) => (copyModeMarks.length ? [`(${labelled(o)})`, ...annotated(o)].join(' || ') : labelled(o));
  const clone = vap(CLONE_ADMISSION_NAME, annotations, {
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['secrets', 'configmaps'], scope: 'Namespaced' }] },
    matchConditions: [{ name: 'clone-identity', expression: inGroup(HANDLER_GROUPS.clone) }],
    validations: [
      { expression: `!(${SYSTEM_NAMESPACE})`, message: `ripple's clone handler never writes in kube-* or ${RIPPLE_NAMESPACE}`, reason: 'Forbidden' },
      { expression: `request.operation == "CREATE" || (${marked('oldObject')})`, message: `ripple's clone handler changes only objects that carry ${LABEL_MANAGED_BY}: ${MANAGED_BY_VALUE} (a copy it made)`, reason: 'Forbidden' },
      { expression: `request.operation == "DELETE" || (${marked('object')})`, message: `ripple's clone handler writes only objects that carry ${LABEL_MANAGED_BY}: ${MANAGED_BY_VALUE}`, reason: 'Forbidden' },
    ],
  });
  const tmpl = (o: string, field: 'labels' | 'annotations') => `(has(${o}.spec.template.metadata) && has(${o}.spec.template.metadata.${field}) ? ${o}.spec.template.metadata.${field} : {})`;
  const rollout = vap(ROLLOUT_ADMISSION_NAME, annotations, {
    matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['deployments', 'statefulsets', 'daemonsets'], scope: 'Namespaced' }] },
    matchConditions: [{ name: 'rollout-identity', expression: inGroup(HANDLER_GROUPS.rollout) }],
    variables: [
      { name: 'newAnnotations', expression: tmpl('object', 'annotations') },
      { name: 'oldAnnotations', expression: tmpl('oldObject', 'annotations') },
    ],
    validations: [
      { expression: `!(${SYSTEM_NAMESPACE})`, message: `ripple's rollout handler never restarts workloads in kube-* or ${RIPPLE_NAMESPACE}`, reason: 'Forbidden' },
      { expression: 'request.operation == "UPDATE"', message: "ripple's rollout handler only patches workloads; it never creates or deletes them", reason: 'Forbidden' },
      {
        expression: [
          'object.spec.template.spec == oldObject.spec.template.spec',
          `${tmpl('object', 'labels')} == ${tmpl('oldObject', 'labels')}`,
          ...ONLY_RESTART_ANNOTATIONS,
          'object.spec.selector == oldObject.spec.selector',
          '(has(object.spec.replicas) ? object.spec.replicas : -1) == (has(oldObject.spec.replicas) ? oldObject.spec.replicas : -1)',
        ].join(' && '),
        message: "ripple's rollout handler may change only the pod template's ripple.dev/restarted-* annotations",
        reason: 'Forbidden',
      },
    ],
  });
  const protect = protectIdentityAdmission(policies);
  return [clone, vapBinding(CLONE_ADMISSION_NAME, annotations, ['Deny']), rollout, vapBinding(ROLLOUT_ADMISSION_NAME, annotations, ['Deny']), protect, vapBinding(PROTECT_ADMISSION_NAME, annotations, ['Deny'])];
}

export const PROTECT_ADMISSION_NAME = 'ripple-protect-identity';

/**
 * The protect identity may create namespaces and RoleBindings anywhere and Secrets/ConfigMaps in the namespaces it
 * guards (RBAC cannot restrict a create by name). Admission bounds it to its job:
 * - a namespace: only CREATE, only of a namespace holding a protected object (re-created after a violating delete);
 * - a RoleBinding: only CREATE of its own (`ripple-protect` → ClusterRole `ripple-protect`, its group as the only
 *   subject) in such a namespace;
 * - a Secret/ConfigMap outside ripple-system (which `ripple-protect-system` guards): only the protected objects.
 */
function protectIdentityAdmission(policies: RipplePolicy[]): K8sObject {
  const annotations = { [ANN_POLICY]: '' };
  const protecting = policies.filter((p) => p.spec.protect);
  const namespaces = [...new Set(protecting.map((p) => p.spec.source.namespace))].sort();
  const objects = (kind: string) => [...new Set(protecting.filter((p) => p.spec.source.kind === kind).map((p) => `${p.spec.source.namespace}/${p.spec.source.name}`))].sort();
  const binding = [
    'object.metadata.name == "ripple-protect"',
    'object.roleRef.kind == "ClusterRole"',
    'object.roleRef.name == "ripple-protect"',
    'has(object.subjects) && size(object.subjects) == 1',
    `object.subjects[0].kind == "Group" && object.subjects[0].name == ${celString(HANDLER_GROUPS.protect)}`,
    `request.namespace in ${celList(namespaces)}`,
  ].join(' && ');
  return vap(PROTECT_ADMISSION_NAME, annotations, {
    matchConstraints: {
      resourceRules: [
        { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['namespaces'], scope: 'Cluster' },
        { apiGroups: ['rbac.authorization.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['rolebindings'], scope: 'Namespaced' },
        { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['secrets', 'configmaps'], scope: 'Namespaced' },
      ],
    },
    matchConditions: [{ name: 'protect-identity', expression: inGroup(HANDLER_GROUPS.protect) }],
    variables: [{ name: 'name', expression: 'request.operation == "CREATE" ? object.metadata.name : request.name' }],
    validations: [
      {
        expression: `request.resource.resource != "namespaces" || (request.operation == "CREATE" && variables.name in ${celList(namespaces)})`,
        message: "ripple's protect handler only re-creates a namespace that holds a protected object",
        reason: 'Forbidden',
      },
      {
        expression: `request.resource.resource != "rolebindings" || (request.operation == "CREATE" && ${binding})`,
        message: "ripple's protect handler only re-creates its own RoleBinding (ripple-protect) in a namespace that holds a protected object",
        reason: 'Forbidden',
      },
      {
        expression: `!(request.resource.resource in ["secrets", "configmaps"]) || request.namespace == ${celString(RIPPLE_NAMESPACE)} || (request.namespace + "/" + variables.name) in (request.resource.resource == "secrets" ? ${celList(objects('Secret'))} : ${celList(objects('ConfigMap'))})`,
        message: "ripple's protect handler writes only the protected objects (and its snapshots in ripple-system)",
        reason: 'Forbidden',
      },
    ],
  });
}
