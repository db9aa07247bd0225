/**
 * How the ingest handler is bundled, shared by the stack (ingest-pipeline.ts) and the bench that measures the bundle
 * the stack deploys (bench/harness.ts).
 */

/** Bundled CommonJS inside the ESM bundle still calls require() for Node's built-ins. */
export const REQUIRE_SHIM = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/** ES module builds tree-shake the S3 client to a third of its CommonJS size. */
export const MAIN_FIELDS = ['module', 'main'];

/**
 * Left out of the bundle: the SDK's default credential chain imports these only when no credentials are in the
 * environment, and Lambda always puts the function role's there, so the chain stops at its first link (fromEnv).
 * With the STS and SSO clients that only they use, they were a fifth of the bundle (530 KB to 418 KB). Were one ever
 * reached, its import would fail and the error would name the module.
 */
export const UNREACHED_IN_LAMBDA = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
];
