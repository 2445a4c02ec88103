/**
 * ValidatingAdmissionPolicy + Binding per protected object (infra/k8s/admission/<policy>.yaml): the API server
 * itself denies UPDATE/DELETE of the base object by anyone but the allowed actors, with the policy's message.
 *
 * - matchConstraints: the object's resource with resourceNames [name], the policy's operations, and a
 *   namespaceSelector on `kubernetes.io/metadata.name` (set by the API server on every Namespace).
 * - The CEL check is on request.userInfo: groups (allow.groups + ripple's protect handler group, always),
 *   usernames (allow.users, and `system:serviceaccount:<ns>:<name>` for allow.serviceAccounts).
 * - enforce -> validationActions [Deny]; audit -> [Audit, Warn] (the actor sees a warning, the audit log records it).
 * CREATE is never matched.
 */
import { HANDLER_GROUPS, LABEL_MANAGED_BY, MANAGED_BY_VALUE, ANN_POLICY } from '../constants.ts';
import type { RipplePolicy } from '../policy/schema.ts';
import type { K8sObject } from './rbac.ts';

const RESOURCE: Record<string, string> = { Secret: 'secrets', ConfigMap: 'configmaps' };
const LABELS = { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/part-of': 'ripple', 'app.kubernetes.io/component': 'protect' };

/** A CEL string literal (JSON string escapes are valid CEL escapes). */
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

/** The policy and its binding for one protected object (null when the policy does not protect). */
export function renderAdmission(p: RipplePolicy): K8sObject[] | null {
  const protect = p.spec.protect;
  if (!protect) return null;
  const s = p.spec.source;
  const name = admissionPolicyName(p);
  const annotations = { [ANN_POLICY]: p.metadata.name };
  const policy: K8sObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name, labels: LABELS, annotations },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: [...protect.operations],
            resources: [RESOURCE[s.kind]],
            resourceNames: [s.name],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.namespace } },
      },
      variables: [{ name: 'exempt', expression: exemptExpression(p) }],
      validations: [
        {
          expression: 'variables.exempt',
          messageExpression: celString(protect.message),
          reason: 'Forbidden',
        },
      ],
    },
  };
  const binding: K8sObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name, labels: LABELS, annotations },
    spec: {
      policyName: name,
      validationActions: protect.mode === 'enforce' ? ['Deny'] : ['Audit', 'Warn'],
    },
  };
  return [policy, binding];
}
