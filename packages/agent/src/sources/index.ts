import { ErrorCodes, XimpError } from '@ximp/shared';
import { cpuSource } from './cpu';
import { diskSource } from './disk';
import { filesystemSource } from './filesystem';
import { loadSource } from './load';
import { memorySource } from './memory';
import { networkSource } from './network';
import { defaultSourceDeps, type MetricSource, type SourceDeps, type SourceInstance, type SourceOptions } from './source';
import { uptimeSource } from './uptime';

/** Every source the agent ships, in the order agent.yaml's documentation lists them. */
export const BUILTIN_SOURCES: readonly MetricSource[] = [
  cpuSource,
  memorySource,
  loadSource,
  filesystemSource,
  diskSource,
  networkSource,
  uptimeSource,
];

/** The names agent.yaml's `sources` may list. */
export const SOURCE_NAMES: readonly string[] = BUILTIN_SOURCES.map((s) => s.name);

export type { CollectContext, MetricSource, SourceCollector, SourceDeps, SourceInstance, SourceOptions } from './source';
export { defaultSourceDeps } from './source';

/**
 * Builds the source instances agent.yaml asks for: `null` means every default-enabled source.
 * An unknown name is a config error (the config parser normally catches it first).
 */
export function createSources(
  enabledNames: string[] | null,
  deps?: Partial<SourceDeps>,
  options: SourceOptions = {},
): SourceInstance[] {
  const fullDeps: SourceDeps = { ...defaultSourceDeps(), ...deps };
  const chosen =
    enabledNames === null
      ? BUILTIN_SOURCES.filter((s) => s.defaultEnabled)
      : Array.from(new Set(enabledNames)).map((name) => {
          const source = BUILTIN_SOURCES.find((s) => s.name === name);
          if (source === undefined) {
            throw new XimpError(
              ErrorCodes.CONFIG_INVALID,
              `unknown source ${JSON.stringify(name)} (known: ${BUILTIN_SOURCES.map((s) => s.name).join(', ')})`,
            );
          }
          return source;
        });
  return chosen.map((source) => {
    const collector = source.create(options, fullDeps);
    return { name: source.name, collect: (ctx) => collector.collect(ctx) };
  });
}
