/**
 * A small IAM evaluator over synthesized policy documents, so that tests can ask "may this principal do X to Y"
 * instead of matching statement shapes. Resources are compared as flattened strings, the way cdk-nag prints them:
 * `{"Fn::GetAtt": ["Bucket", "Arn"]}` + `/*` becomes `<Bucket.Arn>/*`, `{"Ref": "AWS::Region"}` becomes
 * `<AWS::Region>`. Anything the evaluator does not understand throws, so that a test cannot pass by accident.
 */
import type { Template } from 'aws-cdk-lib/assertions';

export interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** Operator -> condition key -> allowed values. */
  readonly conditions: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

export type RequestContext = Readonly<Record<string, string>>;

/** Flattens a CloudFormation value built from strings, Fn::Join, Fn::GetAtt, Ref and Fn::Sub. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isObject(value)) {
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map(flatten).join(join[0]);
    }
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.map(flatten).join('.')}>`;
    if (typeof value.Ref === 'string') return `<${value.Ref}>`;
    if (typeof value['Fn::Sub'] === 'string') return value['Fn::Sub'].replace(/\$\{([^}]+)\}/g, '<$1>');
  }
  throw new Error(`Cannot flatten ${JSON.stringify(value)}`);
}

/** The statements of a policy document as it appears in the template. */
export function statementsOf(policyDocument: unknown): Statement[] {
  if (!isObject(policyDocument) || !Array.isArray(policyDocument.Statement)) {
    throw new Error(`Not a policy document: ${JSON.stringify(policyDocument)}`);
  }
  return policyDocument.Statement.map((raw: unknown): Statement => {
    if (!isObject(raw)) throw new Error(`Not a statement: ${JSON.stringify(raw)}`);
    for (const unsupported of ['NotAction', 'NotResource', 'NotPrincipal']) {
      if (unsupported in raw) throw new Error(`${unsupported} is not supported by this evaluator`);
    }
    if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') throw new Error(`Bad effect in ${JSON.stringify(raw)}`);
    const conditions: Record<string, Record<string, string[]>> = {};
    if (raw.Condition !== undefined) {
      if (!isObject(raw.Condition)) throw new Error(`Bad condition in ${JSON.stringify(raw)}`);
      for (const [operator, keys] of Object.entries(raw.Condition)) {
        if (!isObject(keys)) throw new Error(`Bad condition in ${JSON.stringify(raw)}`);
        conditions[operator] = Object.fromEntries(Object.entries(keys).map(([key, values]) => [key, toArray(values).map(flatten)]));
      }
    }
    return {
      effect: raw.Effect,
      actions: toArray(raw.Action).map(flatten),
      resources: toArray(raw.Resource).map(flatten),
      conditions,
    };
  });
}

/** Every statement that applies to the role: its inline policies and the AWS::IAM::Policy resources attached to it. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const role = template.toJSON().Resources?.[roleId] as { Properties?: Record<string, unknown> } | undefined;
  if (role === undefined) throw new Error(`No role ${roleId}`);
  if (role.Properties?.ManagedPolicyArns !== undefined) {
    throw new Error(`Role ${roleId} has managed policies; this evaluator only sees policies in the template`);
  }
  const inline = toArray(role.Properties?.Policies).flatMap((policy) => statementsOf(isObject(policy) ? policy.PolicyDocument : undefined));
  const attached = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => toArray(policy.Properties?.Roles).some((r) => isObject(r) && r.Ref === roleId))
    .flatMap((policy) => statementsOf(policy.Properties?.PolicyDocument));
  return [...inline, ...attached];
}

/** Whether the statements allow `action` on `resource` (an explicit Deny wins, as in IAM). */
export function isAllowed(statements: readonly Statement[], action: string, resource: string, context: RequestContext = {}): boolean {
  const applies = (s: Statement): boolean =>
    s.actions.some((pattern) => globMatches(pattern, action, true)) &&
    s.resources.some((pattern) => globMatches(pattern, resource, false)) &&
    conditionsHold(s, context);
  if (statements.some((s) => s.effect === 'Deny' && applies(s))) return false;
  return statements.some((s) => s.effect === 'Allow' && applies(s));
}

function conditionsHold(statement: Statement, context: RequestContext): boolean {
  return Object.entries(statement.conditions).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => {
      const actual = context[key];
      // IAM: a condition on a key the request does not carry does not match.
      if (actual === undefined) return false;
      switch (operator) {
        case 'StringEquals':
        case 'Bool':
          return values.includes(actual);
        case 'StringLike':
        case 'ArnLike':
          return values.some((pattern) => globMatches(pattern, actual, false));
        default:
          throw new Error(`Condition operator ${operator} is not supported by this evaluator`);
      }
    }),
  );
}

function globMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
