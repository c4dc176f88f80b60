// Run by collectHostFactsAside() as a child process: prints the host facts as JSON and exits.
import { collectHostFacts } from './host-facts';

collectHostFacts().then(
  (facts) => process.stdout.write(JSON.stringify(facts)),
  () => (process.exitCode = 1),
);
