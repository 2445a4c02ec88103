/**
 * The forwarder's configuration, parsed once from the environment into one typed object (pure: env in,
 * config or a ValidationError naming the variable out, through the same helpers as the handlers'
 * configuration, core/env.ts). docs/forwarder.md lists every variable.
 */
import { envBool, envInt, envList, envOneOf, envRequired } from '../core/env.ts';
import { ValidationError } from '../core/errors.ts';
import type { KindName } from './kinds.ts';
import { KIND_NAMES } from './kinds.ts';
import type { LogLevel } from './log.ts';

export interface EnvConfig {
  cluster: string;
  eventBusName: string;
  region: string;
  endpoint?: string;
  namespace: string;
  identity?: string;
  kinds: KindName[];
  excludeNamespaces: string[];
  labelSelector?: string;
  annotationAllowList: string[];
  httpPort: number | null;
  leaderElection: boolean;
  kubeconfigPath?: string;
  stopGraceMs: number;
  watchdogMs: number;
  maxQueue: number;
  lingerMs: number;
  logLevel: LogLevel;
}

/** Throws ValidationError (a RippleError) naming the variable. */
export function parseEnv(env: Record<string, string | undefined>): EnvConfig {
  const kinds = env.RIPPLE_KINDS ? envList(env, 'RIPPLE_KINDS') : [...KIND_NAMES];
  for (const k of kinds) if (!(KIND_NAMES as readonly string[]).includes(k)) throw new ValidationError(`RIPPLE_KINDS: "${k}" is not one of ${KIND_NAMES.join(', ')}`);
  const port = env.RIPPLE_HTTP_PORT;
  const httpPort = port === 'off' || port === 'none' ? null : envInt(env, 'RIPPLE_HTTP_PORT', 8080, 0, 65535);
  const logLevel = envOneOf<LogLevel>(env, 'RIPPLE_LOG_LEVEL', ['debug', 'info', 'warn', 'error'], 'info');
  const endpoint = env.RIPPLE_EVENTBRIDGE_ENDPOINT?.trim() || undefined;
  if (endpoint && !/^https?:\/\//.test(endpoint)) throw new ValidationError(`RIPPLE_EVENTBRIDGE_ENDPOINT: "${endpoint}" is not an http(s) URL`);
  return {
    cluster: envRequired(env, 'RIPPLE_CLUSTER_NAME', 'the cluster name put into every event (the EKS cluster name)'),
    eventBusName: envRequired(env, 'RIPPLE_EVENT_BUS_NAME', 'the EventBridge bus events are sent to'),
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || envRequired(env, 'AWS_REGION', 'the EventBridge region'),
    ...(endpoint ? { endpoint } : {}),
    namespace: env.RIPPLE_NAMESPACE?.trim() || env.POD_NAMESPACE?.trim() || 'ripple-system',
    ...(env.POD_NAME ? { identity: env.POD_NAME } : {}),
    kinds: kinds as KindName[],
    excludeNamespaces: envList(env, 'RIPPLE_EXCLUDE_NAMESPACES'),
    ...(env.RIPPLE_LABEL_SELECTOR ? { labelSelector: env.RIPPLE_LABEL_SELECTOR } : {}),
    annotationAllowList: envList(env, 'RIPPLE_ANNOTATION_ALLOW_LIST'),
    httpPort,
    leaderElection: envBool(env, 'RIPPLE_LEADER_ELECTION', true),
    ...(env.RIPPLE_KUBECONFIG ? { kubeconfigPath: env.RIPPLE_KUBECONFIG } : {}),
    stopGraceMs: envInt(env, 'RIPPLE_STOP_GRACE_SECONDS', 20, 1, 3600) * 1000,
    watchdogMs: envInt(env, 'RIPPLE_WATCHDOG_SECONDS', 90, 5, 3600) * 1000,
    maxQueue: envInt(env, 'RIPPLE_QUEUE_SIZE', 1000, 10, 1_000_000),
    lingerMs: envInt(env, 'RIPPLE_BATCH_LINGER_MS', 20, 0, 60_000),
    logLevel,
  };
}
