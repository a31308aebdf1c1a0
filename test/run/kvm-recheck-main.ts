// kvm-recheck as the bin does it, run from source by tsx, so tests can run a real process.
import { main } from '../../src/cli/kvm-recheck.js';

process.exitCode = await main(process.argv.slice(2));
