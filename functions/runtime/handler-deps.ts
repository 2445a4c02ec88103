/**
 * The wiring every handler shares (clone, protect, rollout): the dependencies they take (each handler's `Deps` extends
 * `HandlerDeps`) with their production defaults, and a middy handler that resolves them on its first invocation
 * (env is read then, never at import time). Tests pass any dependency in place of its default.
 */
import middy from '@middy/core';
import type { HandlerName } from '../../core/constants.ts';
import { fingerprintKeyCache } from '../../kube/fingerprint-key.ts';
import { kubeFor as defaultKubeFor, type Kube, type KubeFor } from './kube.ts';
import { observability, rippleMiddleware, type Observability } from './middleware.ts';
import { loadPolicies } from '../../core/policy/load.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { runtimeConfig } from './config.ts';

export interface HandlerDeps {
  kubeFor: KubeFor;
  policies: () => RipplePolicy[];
  fingerprintKey: (cluster: string, core: Kube['core']) => Promise<Buffer>;
  observability: () => Observability;
}

/** The given dependencies, defaults for the rest: policies are loaded once, on first use, from the runtime config's policy directory. */
export function handlerDeps(handler: HandlerName, partial: Partial<HandlerDeps>): HandlerDeps {
  let policies: RipplePolicy[] | null = null;
  return {
    kubeFor: partial.kubeFor ?? defaultKubeFor,
    policies: partial.policies ?? (() => (policies ??= loadPolicies(runtimeConfig().policyDir))),
    fingerprintKey: partial.fingerprintKey ?? fingerprintKeyCache(),
    observability: partial.observability ?? (() => observability(handler)),
  };
}

/** What a handler may read of the Lambda context: the time it has left (absent outside Lambda: unbounded). */
export interface InvocationContext {
  getRemainingTimeInMillis?: () => number;
}

/** `process(deps, event, context)` as a middy handler with the ripple middleware; `resolve` runs once, on the first invocation. */
export function lazyHandler<D extends HandlerDeps, E, R>(handler: HandlerName, resolve: () => D, process: (deps: D, event: E, context?: InvocationContext) => Promise<R>) {
  let deps: D | null = null;
  const get = (): D => (deps ??= resolve());
  return middy(async (event: E, context?: InvocationContext): Promise<R> => process(get(), event, context)).use(rippleMiddleware({ handler, observability: () => get().observability() }));
}
