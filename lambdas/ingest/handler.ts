// Placeholder so that the CDK stack can bundle an entry point; replaced by the real handler (issue 4).
export async function handler(): Promise<void> {
  throw new Error('not yet');
}
