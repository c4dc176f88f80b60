import * as path from 'node:path';
import type * as yamlModule from 'yaml';

let loaded: typeof yamlModule | undefined;

/** The yaml library, loaded on first use (again after unloadYamlLibrary). */
export function yamlLibrary(): typeof yamlModule {
  loaded ??= require('yaml') as typeof yamlModule;
  return loaded;
}

/**
 * Drops the yaml library from Node's module cache, so that its code can be collected: the agent
 * reads its config at start-up and on reload only, and keeping the library's compiled modules
 * cost it about 0.8 MiB of resident memory between those (measured in the footprint bench). The
 * next yamlLibrary() loads it afresh. Documents parsed before stay readable: the library tells
 * its node types by registered symbols, the same in every copy.
 */
export function unloadYamlLibrary(): void {
  if (loaded === undefined) return;
  loaded = undefined;
  const dir = path.dirname(require.resolve('yaml/package.json')) + path.sep;
  const isYaml = (file: string): boolean => file.startsWith(dir);
  for (const file of Object.keys(require.cache)) if (isYaml(file)) delete require.cache[file];
  // A module also stays reachable from the `children` of the module that first required it.
  for (const mod of Object.values(require.cache)) {
    if (mod && mod.children.some((child) => isYaml(child.filename))) mod.children = mod.children.filter((child) => !isYaml(child.filename));
  }
}
