/**
 * What the bench scripts share: statistics, the handler bundled as the stack deploys it, and running that bundle cold
 * in a child process against the embedded S3, with the notification and environment the deployed function gets.
 */
import { spawn } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { build, type Metafile, type Plugin } from 'esbuild';
import { LOCAL_CREDENTIALS, LOCAL_REGION, s3EventKeyEncode } from '../cli/local-s3.ts';
import { LOCAL_LAKE_BUCKET, LOCAL_RAW_BUCKET } from '../lambdas/lake/layout.ts';
import { MAIN_FIELDS, REQUIRE_SHIM, UNREACHED_IN_LAMBDA } from '../lib/handler-bundle.ts';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..');

export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function stat3(samples: readonly number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number, runs: s.length };
}

export interface HandlerBundle {
  file: string;
  bytes: number;
  metafile: Metafile;
}

/**
 * The handler as the stack deploys it (lib/ingest-pipeline.ts): minified ESM with the S3 client bundled from its ES
 * module builds, which tree-shake to a third of the CommonJS ones and load in one file instead of hundreds.
 * `plugins` replace parts of it, to measure what they cost.
 */
export async function bundleHandler(outDir: string, plugins: Plugin[] = []): Promise<HandlerBundle> {
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'index.mjs');
  const result = await build({
    entryPoints: [join(ROOT, 'lambdas', 'ingest', 'handler.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    outfile: file,
    mainFields: MAIN_FIELDS,
    external: UNREACHED_IN_LAMBDA,
    banner: { js: REQUIRE_SHIM },
    logLevel: 'silent',
    metafile: true,
    plugins,
  });
  return { file, bytes: (await stat(file)).size, metafile: result.metafile };
}

export function runChild(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.stderr.on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

/** Stores `body` in the raw bucket and returns the S3 notification of that PUT, as the deployed Lambda receives it. */
export async function putAndNotify(client: S3Client, key: string, body: Uint8Array, sequencer: number) {
  const put = await client.send(new PutObjectCommand({ Bucket: LOCAL_RAW_BUCKET, Key: key, Body: body }));
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: LOCAL_REGION,
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: LOCAL_RAW_BUCKET, arn: `arn:aws:s3:::${LOCAL_RAW_BUCKET}` },
          object: {
            key: s3EventKeyEncode(key),
            size: body.length,
            eTag: (put.ETag ?? '').replace(/"/g, ''),
            sequencer: `${sequencer}`.padStart(16, '0'),
          },
        },
      },
    ],
  };
}

/** The environment the stack gives the function, pointed at the embedded S3. */
export function lambdaEnv(endpoint: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LAKE_BUCKET: LOCAL_LAKE_BUCKET,
    POWERTOOLS_METRICS_NAMESPACE: 'navlake',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...extra,
  };
}

export interface ColdStart {
  total_ms: number;
  load_ms: number;
}

/** One cold start: a fresh process loads `bundle` and handles one upload of `body` stored under `key`. */
export async function coldStart(
  s3: { client: S3Client; endpoint: string },
  bundle: string,
  key: string,
  body: Uint8Array,
  sequencer: number,
): Promise<ColdStart> {
  const event = await putAndNotify(s3.client, key, body, sequencer);
  const out = await runChild([join(HERE, 'children', 'cold-start.mjs'), bundle, JSON.stringify(event)], lambdaEnv(s3.endpoint));
  const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as ColdStart & { status: string };
  if (r.status !== 'accepted') throw new Error(`cold start of ${key}: ${out}`);
  return { total_ms: r.total_ms, load_ms: r.load_ms };
}
