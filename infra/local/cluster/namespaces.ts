/**
 * Namespace lifecycle, as the namespace controller runs it: a deleted namespace is Terminating (creates in
 * it are refused by the registry), its contents are deleted (objects with finalizers are marked and waited
 * for), and once empty the namespace itself is removed. (Dependents of deleted objects: gc.ts.)
 */
import { admit } from './admission.ts';
import type { Registry } from './registry.ts';
import { nowSeconds } from './registry.ts';
import { RESOURCES, storageKey, type ResourceType } from './resources.ts';
import type { Change } from './store.ts';

export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** The cluster's single Node (DaemonSets count one scheduled replica on it). */
export const NODE_NAME = 'ripple-node';

export class NamespaceLifecycle {
  private readonly registry: Registry;
  private readonly pending = new Set<string>();
  private scheduled = false;
  private stopped = false;
  private readonly unsubscribe: () => void;
  private readonly byKey = new Map<string, ResourceType>();

  constructor(registry: Registry) {
    this.registry = registry;
    for (const r of RESOURCES) if (!r.virtual && !this.byKey.has(storageKey(r))) this.byKey.set(storageKey(r), r);
    registry.onNamespaceTerminating = (name) => this.enqueue(name);
    this.unsubscribe = registry.store.subscribe((c) => this.changed(c));
    // resume terminations persisted in a state file
    for (const e of registry.store.list('namespaces', '')) if (e.obj.metadata.deletionTimestamp) this.enqueue(e.obj.metadata.name);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  /**
   * Creates the namespaces every cluster starts with, the `kubernetes` Service, and its one Node (no kubelet: it only
   * reports Ready).
   */
  static ensureDefaults(registry: Registry): void {
    for (const name of DEFAULT_NAMESPACES) {
      if (!registry.store.has('namespaces', '', name)) {
        registry.create(NS_RT(), '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { manager: 'kube-apiserver' });
      }
    }
    // the `kubernetes` Service every cluster has in `default` (its first cluster IP, port 443)
    if (!registry.store.has('services', 'default', 'kubernetes')) {
      const services = RESOURCES.find((r) => r.plural === 'services' && r.group === '')!;
      registry.create(services, 'default', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { type: 'ClusterIP', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
      }, { manager: 'kube-apiserver' });
    }
    if (registry.store.count('nodes') === 0) {
      const nodes = RESOURCES.find((r) => r.plural === 'nodes' && r.group === '')!;
      const created = registry.create(nodes, '', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
        spec: {},
      }, { manager: 'kubelet' });
      const now = nowSeconds();
      const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, lastHeartbeatTime: now, lastTransitionTime: now, reason, message });
      registry.update(nodes, '', NODE_NAME, {
        ...created,
        status: {
          capacity: { cpu: '2', memory: '8Gi', pods: '110' },
          allocatable: { cpu: '2', memory: '8Gi', pods: '110' },
          conditions: [
            cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
            cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
            cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
            cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
          ],
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: NODE_NAME }],
          nodeInfo: { kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'none://embedded', osImage: 'ripple embedded cluster', kernelVersion: '', machineID: '', systemUUID: '', bootID: '' },
        },
      }, { manager: 'kubelet', subresource: 'status' });
    }
  }

  private changed(c: Change): void {
    // a change inside a terminating namespace (e.g. a finalizer removed) may let it finish
    if (c.namespace && this.isTerminating(c.namespace)) this.enqueue(c.namespace);
    // a terminating namespace whose own metadata.finalizers were just removed may finish now
    else if (c.key === 'namespaces' && c.type === 'MODIFIED' && c.object.metadata.deletionTimestamp) this.enqueue(c.name);
  }

  private isTerminating(ns: string): boolean {
    return !!this.registry.store.get('namespaces', '', ns)?.obj.metadata.deletionTimestamp;
  }

  private enqueue(ns: string): void {
    this.pending.add(ns);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped) return;
      this.run();
    });
  }

  private run(): void {
    const names = [...this.pending];
    this.pending.clear();
    for (const ns of names) this.finalize(ns);
  }

  /**
   * The ValidatingAdmissionPolicies, evaluated for the controller's own deletes as kube-apiserver does (the namespace
   * controller's requests are admitted like anyone's: a policy that refused them would leave the namespace
   * Terminating, with a NamespaceDeletionContentFailure condition).
   */
  private admitAsController(rt: ResourceType, namespace: string, namespaceObject: any): (obj: any | null, old: any | null) => void {
    return (_obj, old) => {
      const store = this.registry.store;
      const policies = store.list('validatingadmissionpolicies.admissionregistration.k8s.io', '').map((e) => e.obj);
      if (policies.length === 0) return;
      const bindings = store.list('validatingadmissionpolicybindings.admissionregistration.k8s.io', '').map((e) => e.obj);
      const r = admit(
        { operation: 'DELETE', userInfo: NAMESPACE_CONTROLLER, apiGroup: rt.group, apiVersion: rt.version, kind: rt.kind, resource: rt.plural, namespace, name: old?.metadata?.name, object: null, oldObject: old, namespaceObject },
        policies,
        bindings,
      );
      if (!r.allowed) throw new ContentDeletionRefused(r.status?.message ?? 'denied by admission');
    };
  }

  /** One pass of the namespace controller over a terminating namespace. */
  private finalize(ns: string): void {
    const store = this.registry.store;
    const nsEntry = store.get('namespaces', '', ns);
    if (!nsEntry || !nsEntry.obj.metadata.deletionTimestamp) return;
    let remaining = 0;
    const refused: string[] = [];
    for (const key of store.keysIn(ns)) {
      const rt = this.byKey.get(key);
      if (!rt) continue;
      for (const e of store.list(key, ns)) {
        if (e.obj.metadata.deletionTimestamp) {
          remaining++;
          continue;
        }
        try {
          const r = this.registry.delete(rt, ns, e.obj.metadata.name, { propagationPolicy: 'Background', admit: this.admitAsController(rt, ns, nsEntry.obj) });
          if (!r.gone) remaining++;
        } catch (err) {
          // refused by admission: stays, and the namespace with it; anything else raced with another delete
          if (err instanceof ContentDeletionRefused) {
            remaining++;
            refused.push(`${rt.plural} "${e.obj.metadata.name}": ${err.message}`);
          }
        }
      }
    }
    const current = store.get('namespaces', '', ns)!.obj;
    if (remaining > 0) {
      const cond = refused.length
        ? {
          type: 'NamespaceDeletionContentFailure',
          status: 'True',
          lastTransitionTime: nowSeconds(),
          reason: 'ContentDeletionFailed',
          message: `Failed to delete all resource types, ${refused.length} remaining: ${refused.join(', ')}`,
        }
        : {
          type: 'NamespaceFinalizersRemaining',
          status: 'True',
          lastTransitionTime: nowSeconds(),
          reason: 'SomeFinalizersRemain',
          message: `Some content in the namespace has finalizers remaining: ${remaining} resource instances`,
        };
      const had = (current.status?.conditions ?? []).find((c: any) => c.type === cond.type);
      if (!had || had.message !== cond.message) {
        store.put('namespaces', { ...current, status: { ...current.status, conditions: [cond] } });
      }
      return;
    }
    if (current.metadata.finalizers?.length) return; // metadata finalizers: wait for whoever owns them
    store.remove('namespaces', '', ns);
  }
}

let nsRt: ResourceType | undefined;
function NS_RT(): ResourceType {
  nsRt ??= RESOURCES.find((r) => r.plural === 'namespaces' && r.group === '')!;
  return nsRt;
}

/** kube-controller-manager's namespace controller, as EKS runs it (`--use-service-account-credentials`). */
const NAMESPACE_CONTROLLER = { username: 'system:serviceaccount:kube-system:namespace-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] };

class ContentDeletionRefused extends Error {}
