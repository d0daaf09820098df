/**
 * Synthesizing the stack for the CDK tests, and reading its template: shared by the stack's
 * test files so each synthesizes the way `cdk synth -c env=<env>` does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { expect } from 'vitest';
import { ConnectorServiceStack } from '../../lib/connector-service-stack';
import { readEnvironmentConfig, type EnvironmentConfig } from '../../lib/environment-config';
import { REPO_ROOT } from '../../lib/lambda-defaults';

export type Resource = {
  Type: string;
  Properties: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string | string[];
};
export type Statement = { Effect: string; Action: string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };

/** cdk.json's context, as the CDK CLI passes it to the app. */
export const cdkContext = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

export interface Synthesized {
  readonly app: App;
  readonly stack: ConnectorServiceStack;
  readonly config: EnvironmentConfig;
  readonly template: Template;
  readonly resources: Record<string, Resource>;
}

/**
 * Synthesizes the stack as `cdk synth -c env=<env>` does, into `outdir`, with cdk.json's
 * context (and `overrides` of the environment's settings), but without bundling: that runs
 * esbuild once per function (the stack test's 'bundling' probe covers it).
 */
export function synthesizeStack(outdir: string, env: string, overrides: Record<string, unknown> = {}): Synthesized {
  const environments = cdkContext.environments as Record<string, Record<string, unknown>>;
  const app = new App({
    outdir,
    context: {
      ...cdkContext,
      environments: { ...environments, [env]: { ...environments[env], ...overrides } },
      env,
      'aws:cdk:bundling-stacks': [],
    },
  });
  const config = readEnvironmentConfig(app);
  const stack = new ConnectorServiceStack(app, `Connector-${env}`, { config });
  const template = Template.fromStack(stack);
  return { app, stack, config, template, resources: template.toJSON().Resources as Record<string, Resource> };
}

/** The logical id of a construct's CloudFormation resource. */
export const logicalIdIn = (stack: Stack, construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);

export function ofType(resources: Record<string, Resource>, type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

export function only(resources: Record<string, Resource>, type: string): [string, Resource] {
  const found = ofType(resources, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

/** Every statement of the inline policies of a role (by logical id), with Action as a list. */
export function statementsOfRole(resources: Record<string, Resource>, roleId: string): Statement[] {
  return ofType(resources, 'AWS::IAM::Policy')
    .filter(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as { Effect: string; Action: string | string[]; Resource: unknown }[])
    .map((statement) => ({ ...statement, Action: [statement.Action].flat() }));
}

export function statementsOfFunction(resources: Record<string, Resource>, fn: Resource): Statement[] {
  return statementsOfRole(resources, (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]);
}

export const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });
