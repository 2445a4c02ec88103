/**
 * The forwarder's configuration, parsed once from the environment into one typed object (pure: env in,
 * config or a clear error out). docs/forwarder.md lists every variable.
 */
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

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function list(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function int(env: Record<string, string | undefined>, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}: "${raw}" is not an integer between ${min} and ${max}`);
  return n;
}

function bool(env: Record<string, string | undefined>, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name}: "${raw}" is not a boolean (true or false)`);
}

function required(env: Record<string, string | undefined>, name: string, what: string): string {
  const v = env[name]?.trim();
  if (!v) throw new ConfigError(`${name} is required: ${what}`);
  return v;
}

export function parseEnv(env: Record<string, string | undefined>): EnvConfig {
  const kinds = env.RIPPLE_KINDS ? list(env.RIPPLE_KINDS) : [...KIND_NAMES];
  for (const k of kinds) if (!(KIND_NAMES as readonly string[]).includes(k)) throw new ConfigError(`RIPPLE_KINDS: "${k}" is not one of ${KIND_NAMES.join(', ')}`);
  const port = env.RIPPLE_HTTP_PORT;
  const httpPort = port === 'off' || port === 'none' ? null : int(env, 'RIPPLE_HTTP_PORT', 8080, 0, 65535);
  const logLevel = (env.RIPPLE_LOG_LEVEL || 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(`RIPPLE_LOG_LEVEL: "${logLevel}" is not one of debug, info, warn, error`);
  const endpoint = env.RIPPLE_EVENTBRIDGE_ENDPOINT?.trim() || undefined;
  if (endpoint && !/^https?:\/\//.test(endpoint)) throw new ConfigError(`RIPPLE_EVENTBRIDGE_ENDPOINT: "${endpoint}" is not an http(s) URL`);
  return {
    cluster: required(env, 'RIPPLE_CLUSTER_NAME', 'the cluster name put into every event (the EKS cluster name)'),
    eventBusName: required(env, 'RIPPLE_EVENT_BUS_NAME', 'the EventBridge bus events are sent to'),
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || required(env, 'AWS_REGION', 'the EventBridge region'),
    ...(endpoint ? { endpoint } : {}),
    namespace: env.RIPPLE_NAMESPACE?.trim() || env.POD_NAMESPACE?.trim() || 'ripple-system',
    ...(env.POD_NAME ? { identity: env.POD_NAME } : {}),
    kinds: kinds as KindName[],
    excludeNamespaces: list(env.RIPPLE_EXCLUDE_NAMESPACES),
    ...(env.RIPPLE_LABEL_SELECTOR ? { labelSelector: env.RIPPLE_LABEL_SELECTOR } : {}),
    annotationAllowList: list(env.RIPPLE_ANNOTATION_ALLOW_LIST),
    httpPort,
    leaderElection: bool(env, 'RIPPLE_LEADER_ELECTION', true),
    ...(env.RIPPLE_KUBECONFIG ? { kubeconfigPath: env.RIPPLE_KUBECONFIG } : {}),
    stopGraceMs: int(env, 'RIPPLE_STOP_GRACE_SECONDS', 20, 1, 3600) * 1000,
    watchdogMs: int(env, 'RIPPLE_WATCHDOG_SECONDS', 90, 5, 3600) * 1000,
    maxQueue: int(env, 'RIPPLE_QUEUE_SIZE', 1000, 10, 1_000_000),
    lingerMs: int(env, 'RIPPLE_BATCH_LINGER_MS', 20, 0, 60_000),
    logLevel,
  };
}
