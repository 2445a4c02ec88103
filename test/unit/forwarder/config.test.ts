import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../../forwarder/config.ts';
import { RippleError, ValidationError } from '../../../core/errors.ts';

const base = { RIPPLE_CLUSTER_NAME: 'dev', RIPPLE_EVENT_BUS_NAME: 'ripple', AWS_REGION: 'eu-west-1' };

describe('parseEnv', () => {
  it('applies defaults', () => {
    expect(parseEnv(base)).toMatchObject({
      cluster: 'dev',
      eventBusName: 'ripple',
      region: 'eu-west-1',
      namespace: 'ripple-system',
      kinds: ['Namespace', 'Secret', 'ConfigMap'],
      excludeNamespaces: [],
      annotationAllowList: [],
      httpPort: 8080,
      leaderElection: true,
      stopGraceMs: 20_000,
      watchdogMs: 90_000,
      maxQueue: 1000,
      lingerMs: 20,
      logLevel: 'info',
    });
  });

  it('reads every variable', () => {
    const c = parseEnv({
      ...base,
      RIPPLE_EVENTBRIDGE_ENDPOINT: 'http://127.0.0.1:4010',
      POD_NAMESPACE: 'ops',
      POD_NAME: 'fwd-1',
      RIPPLE_KINDS: 'Secret, ConfigMap',
      RIPPLE_EXCLUDE_NAMESPACES: 'kube-*,scratch',
      RIPPLE_LABEL_SELECTOR: 'team=a',
      RIPPLE_ANNOTATION_ALLOW_LIST: 'example.com/*',
      RIPPLE_HTTP_PORT: 'off',
      RIPPLE_LEADER_ELECTION: 'false',
      RIPPLE_KUBECONFIG: '/k',
      RIPPLE_STOP_GRACE_SECONDS: '5',
      RIPPLE_WATCHDOG_SECONDS: '30',
      RIPPLE_QUEUE_SIZE: '50',
      RIPPLE_BATCH_LINGER_MS: '0',
      RIPPLE_LOG_LEVEL: 'debug',
    });
    expect(c).toEqual({
      cluster: 'dev',
      eventBusName: 'ripple',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:4010',
      namespace: 'ops',
      identity: 'fwd-1',
      kinds: ['Secret', 'ConfigMap'],
      excludeNamespaces: ['kube-*', 'scratch'],
      labelSelector: 'team=a',
      annotationAllowList: ['example.com/*'],
      httpPort: null,
      leaderElection: false,
      kubeconfigPath: '/k',
      stopGraceMs: 5000,
      watchdogMs: 30_000,
      maxQueue: 50,
      lingerMs: 0,
      logLevel: 'debug',
    });
  });

  it.each([
    [{ RIPPLE_CLUSTER_NAME: '' }, /RIPPLE_CLUSTER_NAME is required/],
    [{ RIPPLE_EVENT_BUS_NAME: undefined }, /RIPPLE_EVENT_BUS_NAME is required/],
    [{ AWS_REGION: undefined }, /AWS_REGION is required/],
    [{ RIPPLE_KINDS: 'Secret,Pod' }, /RIPPLE_KINDS: "Pod" is not one of Namespace, Secret, ConfigMap/],
    [{ RIPPLE_HTTP_PORT: '70000' }, /RIPPLE_HTTP_PORT: "70000" is not an integer between 0 and 65535/],
    [{ RIPPLE_LEADER_ELECTION: 'maybe' }, /RIPPLE_LEADER_ELECTION: "maybe" is not a boolean/],
    [{ RIPPLE_EVENTBRIDGE_ENDPOINT: 'localhost:4010' }, /RIPPLE_EVENTBRIDGE_ENDPOINT: "localhost:4010" is not an http\(s\) URL/],
    [{ RIPPLE_LOG_LEVEL: 'loud' }, /RIPPLE_LOG_LEVEL: "loud" is not one of debug, info, warn, error/],
  ])('rejects %o with a message naming the variable', (over, msg) => {
    expect(() => parseEnv({ ...base, ...over })).toThrow(msg);
    // One error family: the handlers' ValidationError, a RippleError (forwarder/main.ts exits 2 on it).
    const err = (() => {
      try {
        parseEnv({ ...base, ...over });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toBeInstanceOf(RippleError);
  });
});
