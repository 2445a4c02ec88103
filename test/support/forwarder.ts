/**
 * The forwarder as the end-to-end tests run it: one replica (no Lease), no probe port, sending to the local
 * EventBridge with test credentials and a short linger, logging nothing. Resolves once its first lists are done.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { startForwarder, type Forwarder, type ForwarderConfig, type ForwarderDeps } from '../../forwarder/index.ts';
import type { LocalEventBridge } from '../../infra/local/eventbridge/index.ts';

export async function forwardToBus(
  kubeConfig: KubeConfig,
  bus: LocalEventBridge,
  config: Partial<ForwarderConfig> = {},
  deps: ForwarderDeps = {},
): Promise<Forwarder> {
  const forwarder = await startForwarder(
    {
      cluster: 'local',
      kubeConfig,
      eventBusName: 'ripple',
      eventBridge: { endpoint: bus.url, region: bus.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
      leaderElection: false,
      httpPort: null,
      ...config,
    },
    { log: () => {}, sender: { lingerMs: 5 }, ...deps },
  );
  await forwarder.synced;
  return forwarder;
}

/** Stops what a pipeline test started, the last started first: the forwarder (1 s grace), the bus, the cluster. */
export async function stopPipeline(p: { forwarder?: Forwarder; bus?: LocalEventBridge; cluster?: { stop(): Promise<void> } }): Promise<void> {
  await p.forwarder?.stop(1000);
  await p.bus?.stop();
  await p.cluster?.stop();
}
