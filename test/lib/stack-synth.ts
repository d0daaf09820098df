/**
 * Synthesizing the stack for the CDK tests, and reading its template: shared by the stack's
 * test files so each synthesizes the way `cdk synth -c env=<env>` does.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnResource, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { expect } from 'vitest';
import { ConnectorServiceStack, type ConnectorServiceStackProps } from '../../lib/connector-service-stack';
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
 * esbuild once per function (the stack test's 'bundling' probe covers it). `props` adds stack
 * properties (a fixture folder for the connections page's build).
 */
export function synthesizeStack(
  outdir: string,
  env: string,
  overrides: Record<string, unknown> = {},
  props: Pick<ConnectorServiceStackProps, 'connectionsPageDir'> = {},
): Synthesized {
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
  const stack = new ConnectorServiceStack(app, `Connector-${env}`, { config, ...props });
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

/** Whether cfn-lint is on this machine (CI machines of this kind have it). */
export const CFN_LINT = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;

/** cfn-lint's findings on a template (written to `file`): empty when it deploys, not only synthesizes. */
export function cfnLint(template: Template, file: string): { output: string; status: number | null } {
  writeFileSync(file, JSON.stringify(template.toJSON()));
  // W3005: CDK adds DependsOn on a function's role that its Ref already implies; harmless, and not ours to change.
  const lint = spawnSync('cfn-lint', ['--ignore-checks', 'W3005', '--', file], { encoding: 'utf8' });
  return { output: lint.stdout + lint.stderr, status: lint.status };
}

/** cdk-nag's AwsSolutions findings under `scope` that nothing acknowledges, as `<severity> <rule> at <path>`. */
export function nagFindings(scope: IConstruct): string[] {
  return new AwsSolutionsChecks()
    .validateScope(scope)
    .violations.flatMap((violation) => violation.violatingResources.map((r) => `${violation.severity} ${violation.ruleName} at ${r.constructPath}`));
}

/** Every finding the pack reports under `scope` with every acknowledgement ignored, as `<rule> at <path>`. */
export function nagFindingsUnacknowledged(scope: IConstruct): Set<string> {
  const pack = new AwsSolutionsChecks();
  Object.assign(pack, { isAcknowledged: () => false });
  return new Set(pack.validateScope(scope).violations.flatMap((violation) => violation.violatingResources.map((r) => `${violation.ruleName} at ${r.constructPath}`)));
}

/** Every cdk-nag acknowledgement under `scope`: the construct it is on, the finding's id (as cdk-nag reports it, without the `Annotation::` prefix CDK stores), the reason. */
export function nagAcknowledgements(scope: IConstruct): { construct: IConstruct; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((construct: IConstruct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ construct, id: id.replace(/^annotation::/i, ''), reason })),
      ),
  );
}

/** The CloudFormation resources at and under a construct. */
export const cfnResourcesOf = (construct: IConstruct) => construct.node.findAll().filter((c) => CfnResource.isCfnResource(c));

/** The resources each resource of the template refers to (Ref, Fn::GetAtt, DependsOn). */
export function dependencies(resources: Record<string, Resource>): Map<string, Set<string>> {
  const collect = (value: unknown, into: Set<string>): void => {
    if (Array.isArray(value)) for (const item of value) collect(item, into);
    else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key === 'Ref' && typeof item === 'string' && item in resources) into.add(item);
        else if (key === 'Fn::GetAtt') into.add(Array.isArray(item) ? String(item[0]) : String(item).split('.')[0]!);
        else collect(item, into);
      }
    }
  };
  return new Map(
    Object.entries(resources).map(([id, resource]) => {
      const into = new Set<string>([resource.DependsOn ?? []].flat());
      collect(resource.Properties, into);
      return [id, into];
    }),
  );
}

/** Throws `circular dependency: a -> b -> a` when the template's resources depend on each other in a circle. */
export function assertNoDependencyCycle(resources: Record<string, Resource>): void {
  const graph = dependencies(resources);
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new Error(`circular dependency: ${[...path.slice(path.indexOf(id)), id].join(' -> ')}`);
    state.set(id, 'visiting');
    path.push(id);
    for (const next of graph.get(id) ?? []) visit(next);
    path.pop();
    state.set(id, 'done');
  };
  for (const id of graph.keys()) visit(id);
}
