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
 * Exports (each a function the framework calls with its variable resolver):
 *   names         ['prod', ...]
 *   env           RIPPLE_CLUSTERS for the handlers: JSON `{ "<cluster>": { "region": "<region>" } }`
 *                 (endpoint and CA are read with eks:DescribeCluster at run time)
 *   describeArns  the IAM resources of eks:DescribeCluster: exactly these clusters
 *   cloneAccessEntryIds  logical ids the deploy-time reconcile (Custom::RippleReconcile) depends on
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

/**
 * `cluster` + optional `clusters` -> ordered unique names, primary first. `clusters` is a comma/space separated
 * list, or the handlers' RIPPLE_CLUSTERS JSON object (its keys are the names).
 */
function parseClusters(cluster, clusters) {
  const raw = String(clusters ?? '').trim();
  let list;
  if (raw.startsWith('{')) {
    try {
      list = Object.keys(JSON.parse(raw));
    } catch (err) {
      throw new Error(`param "clusters": not valid JSON (${err.message}); give a comma separated list of cluster names or a RIPPLE_CLUSTERS object`, { cause: err });
    }
  } else {
    list = raw.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  }
  const primary = cluster ? String(cluster).trim() : list[0];
  if (!primary) throw new Error('param "cluster": missing; deploy with --param="cluster=<EKS cluster name>"');
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

async function namesFrom({ resolveVariable }) {
  const cluster = await resolveVariable('param:cluster');
  const clusters = await resolveVariable('param:clusters');
  return parseClusters(cluster, clusters);
}

module.exports = {
  names: async (ctx) => namesFrom(ctx),
  env: async (ctx) => {
    const region = await ctx.resolveVariable('param:region');
    return JSON.stringify(Object.fromEntries((await namesFrom(ctx)).map((n) => [n, { region }])));
  },
  describeArns: async (ctx) => (await namesFrom(ctx)).map(clusterArn),
  resources: async (ctx) => clusterResources(await namesFrom(ctx)),
  cloneAccessEntryIds: async (ctx) => cloneAccessEntryIds(await namesFrom(ctx)),
  parseClusters,
  clusterResources,
  cloneEntryIds: cloneAccessEntryIds,
  readConstants,
  logicalPart,
};
