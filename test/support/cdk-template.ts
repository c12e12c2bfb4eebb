/** Small readers over synthesized templates, shared by the stack tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { REPO_ROOT } from './cdk-app';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly DependsOn?: string[];
}

export function resourcesOfType(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

/** Lambda functions of a template, by logical id. */
export function lambdaFunctions(template: Template): Record<string, CfnResource> {
  return resourcesOfType(template, 'AWS::Lambda::Function');
}

/** Subnet ids of one subnet group type in the committed lookup of one VPC. */
export function committedSubnetIds(vpcId: string, type: 'Public' | 'Private' | 'Isolated'): string[] {
  const context = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.context.json'), 'utf8')) as Record<string, any>;
  const vpcEntries = Object.entries(context).filter(([key]) => key.startsWith('vpc-provider:') && key.includes(`:filter.vpc-id=${vpcId}:`));
  if (vpcEntries.length !== 1)
    throw new Error(`expected one vpc-provider entry for ${vpcId} in cdk.context.json, found ${vpcEntries.length}`);
  const groups = vpcEntries[0][1].subnetGroups as Array<{ type: string; subnets: Array<{ subnetId: string }> }>;
  return groups.filter((group) => group.type === type).flatMap((group) => group.subnets.map((subnet) => subnet.subnetId));
}

/** Every string in a JSON value, with the path where it was found. */
export function allStrings(value: unknown, at = '$'): Array<{ path: string; value: string }> {
  if (typeof value === 'string') return [{ path: at, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => allStrings(item, `${at}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => allStrings(child, `${at}.${key}`));
  }
  return [];
}

/**
 * Places where a secret value could leak into a template: dynamic references
 * that CloudFormation would resolve into plain text, secret resources with
 * literal values, NoEcho-less parameters, and environment variables whose
 * name says they hold a credential.
 */
export function secretLeaks(template: Template): string[] {
  const json = template.toJSON() as Record<string, any>;
  const leaks: string[] = [];
  for (const { path: at, value } of allStrings(json)) {
    if (/\{\{resolve:(secretsmanager|ssm-secure):/.test(value)) leaks.push(`${at}: dynamic secret reference`);
  }
  for (const [id, resource] of Object.entries<any>(json.Resources ?? {})) {
    if (resource.Type === 'AWS::SecretsManager::Secret' && resource.Properties?.SecretString !== undefined) {
      leaks.push(`${id}: literal SecretString`);
    }
    const variables: Record<string, unknown> = resource.Properties?.Environment?.Variables ?? {};
    for (const name of Object.keys(variables)) {
      if (/(PASSWORD|TOKEN|REST_URL)$/.test(name)) leaks.push(`${id}: environment variable ${name}`);
    }
  }
  for (const name of Object.keys(json.Parameters ?? {})) {
    if (name !== 'BootstrapVersion') leaks.push(`parameter ${name}`);
  }
  return leaks;
}
