// kvm-remote as the bin does it, run from source by tsx, so tests can signal a real process.
import { main } from '../../src/cli/kvm-remote.js';

process.exitCode = await main(process.argv.slice(2));
