'use strict';
/* global require, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The EKS clusters one ripple stage serves, for serverless.yml.
 *
 *   --param="cluster=prod"                 one cluster (the default for events that carry none)
 *   --param="clusters=prod,prod-eu-2"      several clusters in the stack's region (the first is the default
 *                                          unless `cluster` names another one)
 *
 *   --param="clusters={\"prod\":{\"endpoint\":\"https://…\",\"caData\":\"LS0t…\"}}"
 *                                          endpoint + CA given: the handlers make no eks:DescribeCluster call
 *
 * `cluster` is required for every stage but `dev` (LOCAL_STAGES: `npm start`, `npm run package`), which falls
 * back to a cluster named `ripple`: a deploy never targets a cluster nobody named.
 *
 * Exports (each a function the framework calls with its variable resolver):
 *   names         ['prod', ...]
 *   env           RIPPLE_CLUSTERS for the handlers: JSON `{ "<cluster>": { "region": "<region>" } }`, plus
 *                 `endpoint` and `caData` where the `clusters` JSON gives them (otherwise read with
 *                 eks:DescribeCluster at run time)
 *   describeArns  the IAM resources of eks:DescribeCluster: exactly these clusters
 *   cloneAccessEntryIds  logical ids the deploy-time reconcile (Custom::RippleReconcile) depends on
 *   forwarderAssociations  `{ "<cluster>": GetAtt ForwarderPodIdentity<X>.AssociationArn }`: a property of the
 *                 deploy-time reconcile, so it runs after every association exists and again whenever one is
 *                 created or replaced (a cluster added); the clone handler then restarts that cluster's
 *                 forwarder so its pods are re-created with the Pod Identity credentials
 *   forwarderNamespace, forwarderServiceAccount  for the ForwarderRole trust policy (session tags)
 *   resources     per cluster: one AWS::EKS::AccessEntry per handler role (its Kubernetes group from
 *                 core/constants.ts HANDLER_GROUPS), the forwarder's
 *                 AWS::EKS::PodIdentityAssociation, and for every cluster but the primary one the protect
 *                 function's subscription to /aws/eks/<cluster>/cluster (the primary one is the `cloudwatchLog`
 *                 event in serverless.yml).
 *
 * CommonJS on purpose: the framework `require()`s variable files. The pure parts are exported for tests.
 */
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');

const CONSTANTS = resolve(__dirname, '..', '..', 'core', 'constants.ts');

/** HANDLER_GROUPS, RIPPLE_NAMESPACE and FORWARDER_SERVICE_ACCOUNT read from the one TypeScript source. */
function readConstants(file = CONSTANTS) {
  const text = readFileSync(file, 'utf8');
  const block = /export const HANDLER_GROUPS = \{([^}]*)\}/.exec(text);
  if (!block) throw new Error(`${file}: HANDLER_GROUPS not found`);
  const groups = {};
  for (const m of block[1].matchAll(/(\w+):\s*'([^']+)'/g)) groups[m[1]] = m[2];
  const str = (name) => {
    const m = new RegExp(`export const ${name} = '([^']+)'`).exec(text);
    if (!m) throw new Error(`${file}: ${name} not found`);
    return m[1];
  };
  return { groups, namespace: str('RIPPLE_NAMESPACE'), serviceAccount: str('FORWARDER_SERVICE_ACCOUNT') };
}

const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;

/** Stages that may leave `cluster` unset (they fall back to `ripple`, the local runner's name). */
const LOCAL_STAGES = ['dev'];

/** The `clusters` param as an object `{ name: { endpoint?, caData?, region? } }` (a list gives empty entries). */
function clusterEntries(clusters) {
  const raw = String(clusters ?? '').trim();
  if (raw.startsWith('{')) {
    let value;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new Error(`param "clusters": not valid JSON (${err.message}); give a comma separated list of cluster names or a RIPPLE_CLUSTERS object`, { cause: err });
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('param "clusters": a JSON value must be an object {"<cluster>": {"endpoint"?, "caData"?, "region"?}}');
    const out = {};
    for (const [name, entry] of Object.entries(value)) {
      const e = entry && typeof entry === 'object' ? entry : {};
      for (const k of Object.keys(e)) {
        if (!['endpoint', 'caData', 'region'].includes(k)) throw new Error(`param "clusters": ${name}.${k}: unknown field (endpoint, caData, region)`);
      }
      if (Boolean(e.endpoint) !== Boolean(e.caData)) throw new Error(`param "clusters": ${name}: give both endpoint and caData (the cluster's API URL and base64 CA, \`aws eks describe-cluster\`), or neither`);
      if (e.endpoint && !/^https:\/\//.test(String(e.endpoint))) throw new Error(`param "clusters": ${name}.endpoint: must be an https:// URL`);
      out[name] = e;
    }
    return out;
  }
  return Object.fromEntries(raw.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean).map((n) => [n, {}]));
}

/**
 * `cluster` + optional `clusters` -> ordered unique names, primary first. `clusters` is a comma/space separated
 * list, or the handlers' RIPPLE_CLUSTERS JSON object (its keys are the names). `stage` (optional) names the
 * stage in the error when no cluster is given.
 */
function parseClusters(cluster, clusters, stage) {
  const list = Object.keys(clusterEntries(clusters));
  const primary = cluster ? String(cluster).trim() : list[0];
  if (!primary) {
    const forStage = stage ? ` for stage "${stage}"` : '';
    throw new Error(`param "cluster" is required${forStage}: deploy with --param="cluster=<EKS cluster name>" (or set RIPPLE_CLUSTER_NAME, or params.${stage || '<stage>'}.cluster in serverless.yml)`);
  }
  const names = [primary, ...list.filter((n) => n !== primary)];
  for (const n of names) {
    if (!CLUSTER_NAME.test(n)) {
      throw new Error(`param "clusters": "${n}" is not an EKS cluster name (letters, digits, - and _, at most 100, starting with a letter or digit)`);
    }
  }
  return [...new Set(names)];
}

/** PascalCase, alphanumeric: a CloudFormation logical id part for a cluster name. */
function logicalPart(name) {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}

const HANDLER_ROLES = { clone: 'CloneRole', rollout: 'RolloutRole', protect: 'ProtectRole' };

function clusterArn(name) {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${name}` };
}

/** Logical-id part per cluster: PascalCase name, made unique by position when two names normalise alike. */
function clusterParts(names) {
  const seen = new Set();
  return names.map((name, i) => {
    let part = logicalPart(name) || `Cluster${i + 1}`;
    if (seen.has(part)) part = `${part}${i + 1}`;
    seen.add(part);
    return part;
  });
}

/** Logical ids of the clone role's access entries: the deploy-time reconcile must wait for them. */
function cloneAccessEntryIds(names) {
  return clusterParts(names).map((part) => `CloneAccessEntry${part}`);
}

/** The CloudFormation resources for these clusters (see the header). */
function clusterResources(names, constants = readConstants()) {
  const Resources = {};
  const parts = clusterParts(names);
  names.forEach((name, i) => {
    const part = parts[i];
    for (const [handler, role] of Object.entries(HANDLER_ROLES)) {
      const group = constants.groups[handler];
      if (!group) throw new Error(`core/constants.ts: HANDLER_GROUPS has no group for "${handler}"`);
      Resources[`${logicalPart(handler)}AccessEntry${part}`] = {
        Type: 'AWS::EKS::AccessEntry',
        Properties: {
          ClusterName: name,
          PrincipalArn: { 'Fn::GetAtt': [role, 'Arn'] },
          Type: 'STANDARD',
          KubernetesGroups: [group],
        },
      };
    }
    Resources[`ForwarderPodIdentity${part}`] = {
      Type: 'AWS::EKS::PodIdentityAssociation',
      Properties: {
        ClusterName: name,
        Namespace: constants.namespace,
        ServiceAccount: constants.serviceAccount,
        RoleArn: { 'Fn::GetAtt': ['ForwarderRole', 'Arn'] },
      },
    };
    if (i > 0) {
      const logGroup = `/aws/eks/${name}/cluster`;
      Resources[`ProtectAuditPermission${part}`] = {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': ['ProtectLambdaFunction', 'Arn'] },
          Principal: { 'Fn::Sub': 'logs.${AWS::Region}.amazonaws.com' },
          SourceArn: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroup}:*` },
        },
      };
      Resources[`ProtectAuditSubscription${part}`] = {
        Type: 'AWS::Logs::SubscriptionFilter',
        DependsOn: [`ProtectAuditPermission${part}`],
        Properties: {
          LogGroupName: logGroup,
          FilterPattern: readAuditFilter(),
          DestinationArn: { 'Fn::GetAtt': ['ProtectLambdaFunction', 'Arn'] },
        },
      };
    }
  });
  return { Resources };
}

function readAuditFilter() {
  const file = resolve(__dirname, '..', '..', 'events', 'patterns', 'protect-audit-filter.json');
  const value = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof value !== 'string') throw new Error(`${file}: expected a JSON string (a CloudWatch Logs filter pattern)`);
  return value;
}

/** `{ "<cluster>": GetAtt ForwarderPodIdentity<X>.AssociationArn }` (see the header). */
function forwarderAssociations(names) {
  const parts = clusterParts(names);
  return Object.fromEntries(names.map((name, i) => [name, { 'Fn::GetAtt': [`ForwarderPodIdentity${parts[i]}`, 'AssociationArn'] }]));
}

/** RIPPLE_CLUSTERS for the handlers: region for each, endpoint + caData where the `clusters` JSON gives them. */
function clustersEnv(names, clusters, region) {
  const entries = clusterEntries(clusters);
  return JSON.stringify(Object.fromEntries(names.map((n) => [n, { region, ...(entries[n] ?? {}) }])));
}

/**
 * One ripple stage per cluster: the forwarder's service account (ripple-system/ripple-forwarder) takes one Pod
 * Identity association, each stage would clone and protect the same objects, and each takes one of the audit
 * log group's two subscription-filter slots. Pure: throws when another stage under `params:` in serverless.yml
 * names one of `names` (as `cluster` or in `clusters`). Stages not written into serverless.yml cannot be seen
 * offline: the deploy then stops at the association (EKS allows one per service account) or at the
 * deploy-time reconcile (the cluster's forwarder sends to another stage's bus); `ripple doctor` reports both.
 */
function refuseSharedClusters(stage, names, paramsByStage) {
  for (const [other, p] of Object.entries(paramsByStage ?? {})) {
    if (other === 'default' || other === stage || LOCAL_STAGES.includes(other) || !p || typeof p !== 'object') continue;
    let theirs = [];
    try {
      theirs = p.cluster || p.clusters ? parseClusters(p.cluster, p.clusters, other) : [];
    } catch {
      continue; // that stage's own package reports its own mistakes
    }
    const shared = names.filter((n) => theirs.includes(n));
    if (shared.length) {
      throw new Error(
        `stage "${stage}" and stage "${other}" (params.${other} in serverless.yml) both use cluster ${shared.map((n) => `"${n}"`).join(', ')}: ` +
          'one ripple stage per cluster (the forwarder service account ripple-system/ripple-forwarder has one Pod Identity association, ' +
          'both stages would clone and protect the same objects, and each takes one of the audit log group\'s two subscription filters). ' +
          'Deploy the other stage to another cluster, or remove it first (docs/deploy.md, "Stages").',
      );
    }
  }
}

async function namesFrom({ resolveVariable }) {
  const cluster = await resolveVariable('param:cluster');
  const clusters = await resolveVariable('param:clusters');
  const stage = await resolveVariable('sls:stage');
  // `dev` (npm start, npm run package) falls back to `ripple`; every other stage must name its cluster.
  const fallback = !cluster && !String(clusters ?? '').trim() && LOCAL_STAGES.includes(stage) ? 'ripple' : cluster;
  const names = parseClusters(fallback, clusters, stage);
  refuseSharedClusters(stage, names, await resolveVariable('self:params, null'));
  return names;
}

module.exports = {
  names: async (ctx) => namesFrom(ctx),
  env: async (ctx) => {
    const region = await ctx.resolveVariable('param:region');
    return clustersEnv(await namesFrom(ctx), await ctx.resolveVariable('param:clusters'), region);
  },
  describeArns: async (ctx) => (await namesFrom(ctx)).map(clusterArn),
  resources: async (ctx) => clusterResources(await namesFrom(ctx)),
  cloneAccessEntryIds: async (ctx) => cloneAccessEntryIds(await namesFrom(ctx)),
  forwarderAssociations: async (ctx) => forwarderAssociations(await namesFrom(ctx)),
  primary: async (ctx) => (await namesFrom(ctx))[0],
  forwarderNamespace: () => readConstants().namespace,
  forwarderServiceAccount: () => readConstants().serviceAccount,
  LOCAL_STAGES,
  clusterEntries,
  refuseSharedClusters,
  clustersEnv,
  associationRefs: forwarderAssociations,
  parseClusters,
  clusterResources,
  cloneEntryIds: cloneAccessEntryIds,
  readConstants,
  logicalPart,
};
