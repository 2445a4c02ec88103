/** Names the Kyverno importer maps (shared by its parts). */
/** The group the built-in `cluster-admin` ClusterRoleBinding grants the cluster-admin ClusterRole to. */
export const CLUSTER_ADMIN_GROUP = 'system:masters';
/** Kyverno's own ServiceAccounts (default install namespace `kyverno`); they map to ripple's own handlers. */
export const KYVERNO_ENGINE_SERVICE_ACCOUNTS = [
  'kyverno/kyverno',
  'kyverno/kyverno-admission-controller',
  'kyverno/kyverno-background-controller',
  'kyverno/kyverno-cleanup-controller',
  'kyverno/kyverno-reports-controller',
];
