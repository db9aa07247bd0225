/**
 * cdk-nag AwsSolutions: no finding is left, and every acknowledgment is needed and explained. bin/ registers the
 * same checks as a validation plugin, so `cdk synth` fails on a new finding too.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { synthesize } from './synth.ts';

// Only the construct tree matters here, so esbuild is skipped.
const { app } = synthesize({ bundle: false });

interface Acknowledgment {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgments(root: IConstruct): Acknowledgment[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('explains every acknowledgment', () => {
    const acknowledged = acknowledgments(app);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledged) {
      expect(reason.trim().length, id).toBeGreaterThanOrEqual(30);
    }
  });

  it('acknowledges only findings that exist', () => {
    // Run the checks as if nothing were acknowledged (isAcknowledged is cdk-nag's private hook for exactly that).
    const checks = new AwsSolutionsChecks(app);
    expect(typeof Reflect.get(checks, 'isAcknowledged')).toBe('function');
    Object.defineProperty(checks, 'isAcknowledged', { value: () => false });
    const findings = new Set(
      checks.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`)),
    );
    for (const { path, id } of acknowledgments(app)) {
      const matched = [...findings].some((f) => f.startsWith(`${id} ${path}/`));
      expect(matched, `${id} acknowledged at ${path} but not found there`).toBe(true);
    }
  });
});
