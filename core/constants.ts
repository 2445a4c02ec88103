/**
 * Names ripple writes into clusters and events. One place, so the forwarder, the handlers, the renderers and
 * the tests agree.
 */

/** EventBridge `source` of every event the forwarder sends. */
export const EVENT_SOURCE = 'ripple.kubernetes';

export const DETAIL_TYPES = {
  created: 'Kubernetes Object Created',
  updated: 'Kubernetes Object Updated',
  deleted: 'Kubernetes Object Deleted',
  resync: 'Ripple Resync Requested',
} as const;
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** ripple's own namespace: forwarder, fingerprint key, last-known-good snapshots. */
export const RIPPLE_NAMESPACE = 'ripple-system';
/** Secret (in RIPPLE_NAMESPACE) holding the per-cluster HMAC key for fingerprints (data key `key`). */
export const FINGERPRINT_KEY_SECRET = 'ripple-fingerprint-key';
/** Prefix of the Secrets (in RIPPLE_NAMESPACE) holding last-known-good snapshots of protected objects. */
export const SNAPSHOT_PREFIX = 'ripple-snapshot-';

/**
 * Who deletes what is left in a terminating namespace: kube-controller-manager's namespace controller, as its own
 * ServiceAccount (`--use-service-account-credentials`, as EKS runs it) or as the controller manager's user.
 */
export const NAMESPACE_CONTROLLER_USERS = ['system:serviceaccount:kube-system:namespace-controller', 'system:kube-controller-manager'];

/** Field manager of every write ripple makes. */
export const FIELD_MANAGER = 'ripple';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'ripple';

export const ANNOTATION_PREFIX = 'ripple.dev/';
/** On copies: `<kind>/<namespace>/<name>` of the source. */
export const ANN_SOURCE = 'ripple.dev/source';
/** On copies: the source fingerprint the copy was written from. */
export const ANN_SOURCE_FINGERPRINT = 'ripple.dev/source-fingerprint';
/**
 * On copies: fingerprint of the copy's own labels and annotations as ripple wrote them (this one left out;
 * core/fingerprint.ts `metadataFingerprint`), so a removal-only edit of them is told from ripple's
 * own write (forwarder/diff.ts `drifted`).
 */
export const ANN_METADATA_FINGERPRINT = 'ripple.dev/metadata-fingerprint';
/** On copies and snapshots: the RipplePolicy that owns them. */
export const ANN_POLICY = 'ripple.dev/policy';
/** On the copies of a set of bases (source.selector): the policy's name, so the set's copies are listed by label. */
export const LABEL_SET = 'ripple.dev/set';
/** On pod templates: which objects (and fingerprints) the last restart was for. */
export const ANN_RESTARTED_FOR = 'ripple.dev/restarted-for';
export const ANN_RESTARTED_AT = 'ripple.dev/restarted-at';
/** On workloads: set to "false" to opt out of reloads (the default of a policy's `reload.optOutAnnotation`). */
export const ANN_RELOAD_OPT_OUT = 'ripple.dev/reload';

/** The kinds ripple protects, clones and reloads for (a policy's `spec.source.kind`). */
export const OBJECT_KINDS = ['Secret', 'ConfigMap'] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** Kubernetes groups the handlers act as (EKS access entries map the Lambda roles to these; no `system:` prefix allowed). */
export const HANDLER_GROUPS = {
  clone: 'ripple:clone',
  rollout: 'ripple:rollout',
  protect: 'ripple:protect',
} as const;
export type HandlerName = keyof typeof HANDLER_GROUPS;
/** The handlers, in HANDLER_GROUPS order (clone, rollout, protect): the one list every other place derives from. */
export const HANDLERS = Object.keys(HANDLER_GROUPS) as readonly HandlerName[];

/** The forwarder's ServiceAccount (in RIPPLE_NAMESPACE). */
export const FORWARDER_SERVICE_ACCOUNT = 'ripple-forwarder';

/** Annotations never copied anywhere and never put into events: they can hold Secret data in clear. */
export const SENSITIVE_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'] as const;

/** Namespaces ripple never clones into unless a policy explicitly includes them. */
export const DEFAULT_EXCLUDED_NAMESPACES = ['kube-*', RIPPLE_NAMESPACE] as const;
