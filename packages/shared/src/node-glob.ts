import { MAX_NODE_NAME_LENGTH } from './node-name';

/**
 * A set of node names written as globs, e.g. `web-*` or `web-*,db-0?`: `*` stands for any run of
 * characters, `?` for one. It limits an API client, a user or an alert rule to those nodes.
 */
export interface NodeGlob {
  /** As written, normalised (no spaces around commas), for storage and display. */
  readonly text: string;
  matches(node: string): boolean;
}

/** What a glob may look like, for messages. */
export const NODE_GLOB_FORM = 'node names with * and ? as wildcards, several separated by commas (e.g. "web-*,db-0?")';

const PART = /^[a-z0-9*?][a-z0-9.*?-]*$/;

/** The glob in `text`, or null when it is not one (see NODE_GLOB_FORM). */
export function parseNodeGlob(text: string): NodeGlob | null {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => part.length === 0 || part.length > MAX_NODE_NAME_LENGTH || !PART.test(part))) return null;
  const unique = [...new Set(parts)];
  const patterns = unique.map((part) => new RegExp(`^${part.replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return {
    text: unique.join(','),
    matches: (node) => patterns.some((re) => re.test(node)),
  };
}
