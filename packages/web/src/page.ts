import type { Session } from './session';

export interface PageContext {
  session: Session;
  /** The route's `{name}` parts, decoded. */
  params: Record<string, string>;
  /** Goes to another page of the app without a reload. */
  navigate(path: string): void;
}

/** Draws a page into `root`; the function it may return runs when the user leaves the page. */
export type Page = (root: HTMLElement, ctx: PageContext) => void | (() => void);
