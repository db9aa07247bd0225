import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real servers and DuckDB; the CDK tests bundle the Lambda with esbuild.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The JSON report is what CI counts from (vitest's own summary line is not read there).
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_METRICS_DISABLED: 'true' },
  },
});
