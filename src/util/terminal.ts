/**
 * Whether a live, redrawn-in-place view suits this output: a terminal, and not CI
 * (CI logs keep every byte, so a redrawn line would pile up as noise).
 */
export function wantsLiveView(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return stream.isTTY === true && !ci;
}
