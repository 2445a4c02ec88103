/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`): kubectl's typed
 * clients send them for `kubectl create secret|configmap|namespace|serviceaccount|deployment|role|...` and
 * `kubectl auth can-i|whoami`. The envelope is "k8s\0" + runtime.Unknown{typeMeta, raw}; `raw` is the
 * object in the generated.proto encoding of k8s.io/api. Only the kinds and fields below are known (others
 * are skipped); responses are always JSON, which the clients accept. Pure.
 */

type Scalar = 'string' | 'bytes' | 'int' | 'bool';
interface Field { name: string; type: Scalar | 'msg' | 'map' | 'intOrString'; msg?: Schema; value?: Scalar; repeated?: boolean; keepZero?: boolean }
type Schema = Record<number, Field>;

const s = (name: string, keepZero = false): Field => ({ name, type: 'string', keepZero });
const i = (name: string, keepZero = false): Field => ({ name, type: 'int', keepZero });
const b = (name: string, keepZero = false): Field => ({ name, type: 'bool', keepZero });
const m = (name: string, msg: Schema, repeated = false): Field => ({ name, type: 'msg', msg, repeated });
const rs = (name: string): Field => ({ name, type: 'string', repeated: true });
const map = (name: string, value: Scalar = 'string'): Field => ({ name, type: 'map', value });

const Time: Schema = { 1: i('seconds'), 2: i('nanos') };
const OwnerReference: Schema = { 1: s('kind'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: b('controller', true), 7: b('blockOwnerDeletion', true) };
const ObjectMeta: Schema = {
  1: s('name'), 2: s('generateName'), 3: s('namespace'), 4: s('selfLink'), 5: s('uid'), 6: s('resourceVersion'), 7: i('generation'),
  8: m('creationTimestamp', Time), 9: m('deletionTimestamp', Time), 10: i('deletionGracePeriodSeconds', true),
  11: map('labels'), 12: map('annotations'), 13: m('ownerReferences', OwnerReference, true), 14: rs('finalizers'),
};
const LabelSelectorRequirement: Schema = { 1: s('key'), 2: s('operator'), 3: rs('values') };
const LabelSelector: Schema = { 1: map('matchLabels'), 2: m('matchExpressions', LabelSelectorRequirement, true) };
const LocalObjectReference: Schema = { 1: s('name') };
const ObjectReference: Schema = { 1: s('kind'), 2: s('namespace'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: s('resourceVersion'), 7: s('fieldPath') };
const KeySelector: Schema = { 1: m('localObjectReference', LocalObjectReference), 2: s('key'), 3: b('optional', true) };
const FieldSelector: Schema = { 1: s('apiVersion'), 2: s('fieldPath') };
const EnvVarSource: Schema = { 1: m('fieldRef', FieldSelector), 3: m('configMapKeyRef', KeySelector), 4: m('secretKeyRef', KeySelector) };
const EnvVar: Schema = { 1: s('name'), 2: s('value'), 3: m('valueFrom', EnvVarSource) };
const EnvFromSource: Schema = { 1: s('prefix'), 2: m('configMapRef', { 1: m('localObjectReference', LocalObjectReference), 2: b('optional', true) }), 3: m('secretRef', { 1: m('localObjectReference', LocalObjectReference), 2: b('optional', true) }) };
const ContainerPort: Schema = { 1: s('name'), 2: i('hostPort'), 3: i('containerPort'), 4: s('protocol'), 5: s('hostIP') };
const Quantity: Schema = { 1: s('string') };
const ResourceRequirements: Schema = { 1: { name: 'limits', type: 'map', value: 'string' }, 2: { name: 'requests', type: 'map', value: 'string' } };
const VolumeMount: Schema = { 1: s('name'), 2: b('readOnly'), 3: s('mountPath'), 4: s('subPath'), 6: s('subPathExpr') };
const Container: Schema = {
  1: s('name'), 2: s('image'), 3: rs('command'), 4: rs('args'), 5: s('workingDir'), 6: m('ports', ContainerPort, true), 7: m('env', EnvVar, true),
  8: m('resources', ResourceRequirements), 9: m('volumeMounts', VolumeMount, true), 13: s('terminationMessagePath'), 14: s('imagePullPolicy'),
  16: b('stdin'), 17: b('stdinOnce'), 18: b('tty'), 19: m('envFrom', EnvFromSource, true), 20: s('terminationMessagePolicy'),
};
const KeyToPath: Schema = { 1: s('key'), 2: s('path'), 3: i('mode', true) };
const VolumeSource: Schema = {
  1: m('hostPath', { 1: s('path'), 2: s('type') }), 2: m('emptyDir', { 1: s('medium'), 2: m('sizeLimit', Quantity) }),
  6: m('secret', { 1: s('secretName'), 2: m('items', KeyToPath, true), 3: i('defaultMode', true), 4: b('optional', true) }),
  19: m('configMap', { 1: m('localObjectReference', LocalObjectReference), 2: m('items', KeyToPath, true), 3: i('defaultMode', true), 4: b('optional', true) }),
};
const Volume: Schema = { 1: s('name'), 2: m('volumeSource', VolumeSource) };
const PodSpec: Schema = {
  1: m('volumes', Volume, true), 2: m('containers', Container, true), 3: s('restartPolicy'), 4: i('terminationGracePeriodSeconds', true),
  5: i('activeDeadlineSeconds', true), 6: s('dnsPolicy'), 7: map('nodeSelector'), 8: s('serviceAccountName'), 9: s('serviceAccount'),
  10: s('nodeName'), 11: b('hostNetwork'), 12: b('hostPID'), 13: b('hostIPC'), 14: m('securityContext', {}), 15: m('imagePullSecrets', LocalObjectReference, true),
  16: s('hostname'), 17: s('subdomain'), 19: s('schedulerName'), 20: m('initContainers', Container, true), 21: b('automountServiceAccountToken', true),
};
const PodTemplateSpec: Schema = { 1: m('metadata', ObjectMeta), 2: m('spec', PodSpec) };
const IntOrString: Field['type'] = 'intOrString';
const RollingUpdateDeployment: Schema = { 1: { name: 'maxUnavailable', type: IntOrString }, 2: { name: 'maxSurge', type: IntOrString } };
const DeploymentSpec: Schema = {
  1: i('replicas', true), 2: m('selector', LabelSelector), 3: m('template', PodTemplateSpec), 4: m('strategy', { 1: s('type'), 2: m('rollingUpdate', RollingUpdateDeployment) }),
  5: i('minReadySeconds'), 6: i('revisionHistoryLimit', true), 7: b('paused'), 9: i('progressDeadlineSeconds', true),
};
const StatefulSetSpec: Schema = {
  1: i('replicas', true), 2: m('selector', LabelSelector), 3: m('template', PodTemplateSpec), 5: s('serviceName'), 6: s('podManagementPolicy'),
  7: m('updateStrategy', { 1: s('type'), 2: m('rollingUpdate', { 1: i('partition', true), 2: { name: 'maxUnavailable', type: IntOrString } }) }), 8: i('revisionHistoryLimit', true), 9: i('minReadySeconds'),
};
const DaemonSetSpec: Schema = {
  1: m('selector', LabelSelector), 2: m('template', PodTemplateSpec), 3: m('updateStrategy', { 1: s('type'), 2: m('rollingUpdate', { 1: { name: 'maxUnavailable', type: IntOrString }, 2: { name: 'maxSurge', type: IntOrString } }) }),
  4: i('minReadySeconds'), 6: i('revisionHistoryLimit', true),
};
const PolicyRule: Schema = { 1: rs('verbs'), 2: rs('apiGroups'), 3: rs('resources'), 4: rs('resourceNames'), 5: rs('nonResourceURLs') };
const Subject: Schema = { 1: s('kind'), 2: s('apiGroup'), 3: s('name'), 4: s('namespace') };
const RoleRef: Schema = { 1: s('apiGroup'), 2: s('kind'), 3: s('name') };
const ResourceAttributes: Schema = { 1: s('namespace'), 2: s('verb'), 3: s('group'), 4: s('version'), 5: s('resource'), 6: s('subresource'), 7: s('name') };
const NonResourceAttributes: Schema = { 1: s('path'), 2: s('verb') };
const ExtraValue: Schema = { 1: rs('items') };

const ServicePort: Schema = { 1: s('name'), 2: s('protocol'), 3: i('port'), 4: { name: 'targetPort', type: 'intOrString' }, 5: i('nodePort'), 6: s('appProtocol') };
const ServiceSpec: Schema = {
  1: m('ports', ServicePort, true), 2: map('selector'), 3: s('clusterIP'), 4: s('type'), 5: rs('externalIPs'), 7: s('sessionAffinity'),
  8: s('loadBalancerIP'), 9: rs('loadBalancerSourceRanges'), 10: s('externalName'), 11: s('externalTrafficPolicy'), 12: i('healthCheckNodePort'),
  13: b('publishNotReadyAddresses'), 17: s('ipFamilyPolicy'), 18: rs('clusterIPs'), 19: rs('ipFamilies'), 20: b('allocateLoadBalancerNodePorts', true),
  21: s('loadBalancerClass'), 22: s('internalTrafficPolicy'),
};
const PodDisruptionBudgetSpec: Schema = {
  1: { name: 'minAvailable', type: 'intOrString' }, 2: m('selector', LabelSelector), 3: { name: 'maxUnavailable', type: 'intOrString' }, 4: s('unhealthyPodEvictionPolicy'),
};

const KINDS: Record<string, Schema> = {
  'v1/Service': { 1: m('metadata', ObjectMeta), 2: m('spec', ServiceSpec) },
  'v1/Pod': { 1: m('metadata', ObjectMeta), 2: m('spec', PodSpec) },
  'policy/v1/PodDisruptionBudget': { 1: m('metadata', ObjectMeta), 2: m('spec', PodDisruptionBudgetSpec) },
  'v1/Secret': { 1: m('metadata', ObjectMeta), 2: map('data', 'bytes'), 3: s('type'), 4: map('stringData'), 5: b('immutable', true) },
  'v1/ConfigMap': { 1: m('metadata', ObjectMeta), 2: map('data'), 3: map('binaryData', 'bytes'), 4: b('immutable', true) },
  'v1/Namespace': { 1: m('metadata', ObjectMeta), 2: m('spec', { 1: rs('finalizers') }), 3: m('status', { 1: s('phase') }) },
  'v1/ServiceAccount': { 1: m('metadata', ObjectMeta), 2: m('secrets', ObjectReference, true), 3: m('imagePullSecrets', LocalObjectReference, true), 4: b('automountServiceAccountToken', true) },
  'v1/DeleteOptions': { 1: i('gracePeriodSeconds', true), 2: m('preconditions', { 1: s('uid'), 2: s('resourceVersion') }), 3: b('orphanDependents', true), 4: s('propagationPolicy'), 5: rs('dryRun') },
  'apps/v1/Deployment': { 1: m('metadata', ObjectMeta), 2: m('spec', DeploymentSpec) },
  'apps/v1/StatefulSet': { 1: m('metadata', ObjectMeta), 2: m('spec', StatefulSetSpec) },
  'apps/v1/DaemonSet': { 1: m('metadata', ObjectMeta), 2: m('spec', DaemonSetSpec) },
  'rbac.authorization.k8s.io/v1/Role': { 1: m('metadata', ObjectMeta), 2: m('rules', PolicyRule, true) },
  'rbac.authorization.k8s.io/v1/ClusterRole': { 1: m('metadata', ObjectMeta), 2: m('rules', PolicyRule, true), 3: m('aggregationRule', { 1: m('clusterRoleSelectors', LabelSelector, true) }) },
  'rbac.authorization.k8s.io/v1/RoleBinding': { 1: m('metadata', ObjectMeta), 2: m('subjects', Subject, true), 3: m('roleRef', RoleRef) },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { 1: m('metadata', ObjectMeta), 2: m('subjects', Subject, true), 3: m('roleRef', RoleRef) },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': { 1: m('metadata', ObjectMeta), 2: m('spec', { 1: m('resourceAttributes', ResourceAttributes), 2: m('nonResourceAttributes', NonResourceAttributes) }) },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { 1: m('metadata', ObjectMeta), 2: m('spec', { 1: s('namespace') }) },
  'authorization.k8s.io/v1/SubjectAccessReview': { 1: m('metadata', ObjectMeta), 2: m('spec', { 1: m('resourceAttributes', ResourceAttributes), 2: m('nonResourceAttributes', NonResourceAttributes), 3: s('user'), 4: rs('groups'), 5: { name: 'extra', type: 'map', value: 'string' }, 6: s('uid') }) },
  'authorization.k8s.io/v1/LocalSubjectAccessReview': { 1: m('metadata', ObjectMeta), 2: m('spec', { 1: m('resourceAttributes', ResourceAttributes), 2: m('nonResourceAttributes', NonResourceAttributes), 3: s('user'), 4: rs('groups'), 6: s('uid') }) },
  'authentication.k8s.io/v1/SelfSubjectReview': { 1: m('metadata', ObjectMeta) },
  'coordination.k8s.io/v1/Lease': { 1: m('metadata', ObjectMeta), 2: m('spec', { 1: s('holderIdentity'), 2: i('leaseDurationSeconds', true), 5: i('leaseTransitions', true) }) },
};

/** Field names whose protobuf message wraps its content one level deeper than the JSON (inlined structs). */
const INLINE = new Set(['localObjectReference', 'volumeSource']);

export class ProtobufError extends Error {}

class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtobufError('truncated varint');
      const byte = this.buf[this.pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new ProtobufError('varint too long');
    }
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new ProtobufError('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
  }
}

function toInt(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

const text = (u: Uint8Array) => Buffer.from(u).toString('utf8');

function decodeScalar(r: Reader, type: Scalar, wire: number): unknown {
  switch (type) {
    case 'string': return text(r.bytes());
    case 'bytes': return Buffer.from(r.bytes()).toString('base64');
    case 'int': return wire === 0 ? toInt(r.varint()) : (r.skip(wire), 0);
    case 'bool': return r.varint() !== 0n;
  }
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

function decodeMessage(buf: Uint8Array, schema: Schema, path: string): Record<string, any> {
  const r = new Reader(buf);
  const out: Record<string, any> = {};
  while (!r.done) {
    const tag = r.varint();
    const num = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    const f = schema[num];
    if (!f) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    if (f.type === 'msg') {
      value = decodeMessage(r.bytes(), f.msg!, `${path}.${f.name}`);
      if (f.msg === Time) value = timeValue(value as { seconds?: number });
    } else if (f.type === 'map') {
      const entry = new Reader(r.bytes());
      let k = '';
      let v: unknown = '';
      while (!entry.done) {
        const t = entry.varint();
        const n = Number(t >> 3n);
        const w = Number(t & 7n);
        if (n === 1) k = text(entry.bytes());
        else if (n === 2 && f.name === 'extra') v = decodeMessage(entry.bytes(), ExtraValue, path).items ?? [];
        else if (n === 2 && (f.name === 'limits' || f.name === 'requests')) v = decodeMessage(entry.bytes(), Quantity, path).string ?? '';
        else if (n === 2) v = decodeScalar(entry, f.value!, w);
        else entry.skip(w);
      }
      out[f.name] ??= {};
      out[f.name][k] = v;
      continue;
    } else if (f.type === 'intOrString') {
      const io = decodeMessage(r.bytes(), { 1: i('type', true), 2: i('intVal', true), 3: s('strVal', true) }, path);
      value = io.type === 1 ? io.strVal : io.intVal ?? 0;
    } else {
      value = decodeScalar(r, f.type, wire);
    }
    if (f.repeated) {
      (out[f.name] ??= []).push(value);
      continue;
    }
    if (value === null || (isZero(value) && !f.keepZero)) {
      delete out[f.name];
      continue;
    }
    if (INLINE.has(f.name) && value && typeof value === 'object') Object.assign(out, value);
    else out[f.name] = value;
  }
  return out;
}

function timeValue(t: { seconds?: number }): string | null {
  if (!t.seconds) return null;
  return new Date(t.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** Decodes a protobuf request body into the JSON form of the object; throws ProtobufError naming what is unsupported. */
export function decodeProtobuf(buf: Uint8Array): any {
  if (buf.length < 4 || !MAGIC.every((v, idx) => buf[idx] === v)) throw new ProtobufError('protobuf body does not start with the k8s magic number');
  const unknown = decodeMessage(buf.subarray(4), { 1: m('typeMeta', { 1: s('apiVersion'), 2: s('kind') }), 2: { name: 'raw', type: 'bytes' }, 3: s('contentEncoding'), 4: s('contentType') }, '');
  const apiVersion: string = unknown.typeMeta?.apiVersion ?? '';
  const kind: string = unknown.typeMeta?.kind ?? '';
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema) throw new ProtobufError(`protobuf encoding of ${kind || 'this kind'} (${apiVersion || 'unknown version'}) is not supported by the embedded cluster; send JSON`);
  const raw = Buffer.from(unknown.raw ?? '', 'base64');
  return { apiVersion, kind, ...decodeMessage(raw, schema, kind) };
}
