/**
 * Kubes over a kubeconfig for the CLI, benches and tests: ./kubeconfig-kube.ts with @kubernetes/client-node
 * imported statically. Handlers never import this module (they load client-node lazily, ./index.ts).
 */
import * as cn from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeOptions } from './http.ts';
import { kubeconfigKube, type KubeconfigKube } from './kubeconfig-kube.ts';

export type { KubeconfigKube } from './kubeconfig-kube.ts';
export { kubeconfigRawApi } from './kubeconfig-kube.ts';

/** Build a Kube over a KubeConfig (embedded cluster, a kubeconfig file): client-node's typed APIs + `raw`. */
export function kubeFromKubeConfig(kc: KubeConfig, cluster = kc.getCurrentCluster()?.name ?? 'local', opts: KubeOptions = {}): KubeconfigKube {
  return kubeconfigKube(cn, kc, cluster, opts);
}
