/**
 * Container entry point: config from the environment, kube credentials from RIPPLE_KUBECONFIG or the pod's
 * service account, AWS credentials from the SDK's default chain (EKS Pod Identity or IRSA), SIGTERM/SIGINT →
 * flush within the grace period and exit.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { ValidationError } from '../core/errors.ts';
import { parseEnv } from './config.ts';
import { startForwarder } from './index.ts';
import { errorFields, jsonLog } from './log.ts';

export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  let log = jsonLog();
  let cfg;
  try {
    cfg = parseEnv(env);
  } catch (err) {
    if (err instanceof ValidationError) {
      log('error', 'invalid configuration', { message: err.message });
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  log = jsonLog(undefined, cfg.logLevel);
  const kc = new KubeConfig();
  if (cfg.kubeconfigPath) kc.loadFromFile(cfg.kubeconfigPath);
  else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();

  const fwd = await startForwarder(
    {
      cluster: cfg.cluster,
      kubeConfig: kc,
      eventBusName: cfg.eventBusName,
      eventBridge: { region: cfg.region, ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}) },
      namespace: cfg.namespace,
      ...(cfg.identity ? { identity: cfg.identity } : {}),
      kinds: cfg.kinds,
      excludeNamespaces: cfg.excludeNamespaces,
      ...(cfg.labelSelector ? { labelSelector: cfg.labelSelector } : {}),
      annotationAllowList: cfg.annotationAllowList,
      httpPort: cfg.httpPort,
      leaderElection: cfg.leaderElection,
    },
    { log, stopGraceMs: cfg.stopGraceMs, watch: { watchdogMs: cfg.watchdogMs }, sender: { maxQueue: cfg.maxQueue, lingerMs: cfg.lingerMs } },
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'shutting down', { signal, graceMs: cfg.stopGraceMs });
    const { unsent } = await fwd.stop(cfg.stopGraceMs);
    process.exitCode = unsent > 0 ? 1 : 0;
    process.exit();
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function isEntryPoint(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((err) => {
    jsonLog()('error', 'forwarder failed to start', errorFields(err));
    process.exit(1);
  });
}
