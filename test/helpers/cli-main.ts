// Any of the four commands as its bin runs it, from source by tsx: `cli-main.ts kvm-run ARGS...`.
const command = process.argv[2];
const commands: Record<string, () => Promise<{ main: (argv: string[]) => Promise<number> }>> = {
  'kvm-run': () => import('../../src/cli/kvm-run.js'),
  'kvm-again': () => import('../../src/cli/kvm-again.js'),
  'kvm-recheck': () => import('../../src/cli/kvm-recheck.js'),
  'kvm-remote': () => import('../../src/cli/kvm-remote.js'),
};
const load = command === undefined ? undefined : commands[command];
if (!load) throw new Error(`cli-main: unknown command ${command}`);
process.exitCode = await (await load()).main(process.argv.slice(3));
