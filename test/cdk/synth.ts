import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { NavlakeStack, type NavlakeStackProps } from '../../lib/navlake-stack.ts';

export interface Synthesized {
  readonly app: App;
  readonly stack: NavlakeStack;
  readonly assembly: CloudAssembly;
  readonly template: Template;
}

/**
 * The stack as `cdk synth` builds it, into a temporary directory. `bundle: false` skips esbuild (the function code is
 * then a stub), for tests that only look at the template.
 */
export function synthesize(options: { bundle: boolean; context?: Record<string, unknown>; props?: NavlakeStackProps }): Synthesized {
  const app = new App({
    context: { ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...options.context },
  });
  const stack = new NavlakeStack(app, 'Navlake', options.props);
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template as Record<string, unknown>);
  return { app, stack, assembly, template };
}

/** Logical id of a CloudFormation element, or of the default resource of an L2 construct. */
export function logicalId(construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (element === undefined || !CfnElement.isCfnElement(element)) throw new Error(`${construct.node.path} has no resource`);
  return Stack.of(construct).resolve(element.logicalId) as string;
}
