'use strict';
/* global module */
/**
 * Lambda in a VPC, for serverless.yml: `provider.vpc` from two params, and the network-interface permissions
 * the three function roles then need (the roles are ripple's own, so the framework adds none).
 *
 *   --param="vpcSubnetIds=subnet-0a…,subnet-0b…" --param="vpcSecurityGroupIds=sg-0c…"
 *
 * Exports (each a function the framework calls with its variable resolver):
 *   vpc        `{ subnetIds, securityGroupIds }` for provider.vpc, or null (no VPC) when both params are empty
 *   resources  when provider.vpc is set (by these params or written into serverless.yml by hand): one
 *              AWS::IAM::Policy on CloneRole, RolloutRole and ProtectRole with the network-interface actions of
 *              AWS's AWSLambdaVPCAccessExecutionRole, and `extensions` making each function wait for it (Lambda
 *              checks the execution role's EC2 permissions when it creates a function with a VpcConfig).
 *              Without a VPC: nothing, the roles stay as they are.
 *
 * What else a VPC needs (routes to EKS, STS, S3, EventBridge, CloudWatch; the cluster security group) is in
 * docs/deploy.md, "Private endpoint: Lambda in a VPC". CommonJS on purpose: the framework `require()`s variable files.
 */

const ROLES = ['CloneRole', 'RolloutRole', 'ProtectRole'];
const FUNCTIONS = ['CloneLambdaFunction', 'RolloutLambdaFunction', 'ProtectLambdaFunction'];
const POLICY_ID = 'RippleVpcNetworkInterfacesPolicy';

/**
 * The actions of AWSLambdaVPCAccessExecutionRole (without its log actions: each role has its own). EC2 gives
 * DescribeNetworkInterfaces/DescribeSubnets no resource-level permissions, and Lambda creates the interfaces in
 * subnets it chooses at run time, so the resource is `*`, as in AWS's managed policy.
 */
const ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

function idList(value, param, prefix) {
  const list = String(value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of list) {
    if (!new RegExp(`^${prefix}-[0-9a-f]{8,17}$`).test(id)) throw new Error(`param "${param}": "${id}" is not a ${prefix === 'sg' ? 'security group' : 'subnet'} id (${prefix}-<hex>)`);
  }
  return [...new Set(list)];
}

/** Pure: the two params -> provider.vpc, or null. Both or neither. */
function vpcConfig(subnetIds, securityGroupIds) {
  const subnets = idList(subnetIds, 'vpcSubnetIds', 'subnet');
  const groups = idList(securityGroupIds, 'vpcSecurityGroupIds', 'sg');
  if (!subnets.length && !groups.length) return null;
  if (!subnets.length) throw new Error('param "vpcSubnetIds": missing; a VPC needs both --param="vpcSubnetIds=subnet-…,subnet-…" and --param="vpcSecurityGroupIds=sg-…"');
  if (!groups.length) throw new Error('param "vpcSecurityGroupIds": missing; a VPC needs both --param="vpcSubnetIds=subnet-…,subnet-…" and --param="vpcSecurityGroupIds=sg-…"');
  return { subnetIds: subnets, securityGroupIds: groups };
}

/** Pure: resources (and function extensions) for a provider.vpc value; `{}` without one. */
function vpcResources(vpc) {
  if (!vpc) return {};
  return {
    Resources: {
      [POLICY_ID]: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'ripple-vpc-network-interfaces',
          Roles: ROLES.map((r) => ({ Ref: r })),
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Sid: 'VpcNetworkInterfaces', Effect: 'Allow', Action: ENI_ACTIONS, Resource: '*' }],
          },
        },
      },
    },
    extensions: Object.fromEntries(FUNCTIONS.map((f) => [f, { DependsOn: [POLICY_ID] }])),
  };
}

module.exports = {
  vpc: async ({ resolveVariable }) => vpcConfig(await resolveVariable('param:vpcSubnetIds'), await resolveVariable('param:vpcSecurityGroupIds')),
  resources: async ({ resolveVariable }) => vpcResources(await resolveVariable('self:provider.vpc, null')),
  vpcConfig,
  vpcResources,
  ENI_ACTIONS,
  POLICY_ID,
};
