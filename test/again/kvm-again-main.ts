// kvm-again as the bin does it, run from source by tsx, so tests can run a real process.
import { main } from '../../src/cli/kvm-again.js';

process.exitCode = await main(process.argv.slice(2));
