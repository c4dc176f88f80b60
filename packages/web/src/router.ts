import type { Page } from './page';
import type { Permission } from './roles';

export interface Route {
  /** A path pattern; `{name}` matches one path segment, given to the page decoded. */
  path: string;
  page: Page;
  /** The document title while the page shows. */
  title: string;
  /** What the signed-in user needs to open the page (and to see its nav link). */
  permission?: Permission;
  /** The nav entry, when the page has one. */
  nav?: string;
  /** Reachable without a session (the sign-in page). */
  public?: boolean;
}

/** The `{name}` values when `path` matches `pattern`, else null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (w.startsWith('{') && w.endsWith('}')) {
      let value: string;
      try {
        value = decodeURIComponent(g);
      } catch {
        return null;
      }
      params[w.slice(1, -1)] = value;
    } else if (w !== g) {
      return null;
    }
  }
  return params;
}

/** The first route matching `path` with its params, or null. */
export function findRoute(routes: readonly Route[], path: string): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params) return { route, params };
  }
  return null;
}
