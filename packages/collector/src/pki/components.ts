/** Certificates the collector manages under `<data_dir>/pki`, besides the CA itself. */
export const LEAF_COMPONENTS = ['collector', 'api', 'store-client'] as const;

export type LeafComponent = (typeof LEAF_COMPONENTS)[number];

/** Every component `ximp tls status` reports on, the CA first. */
export const PKI_COMPONENTS = ['ca', ...LEAF_COMPONENTS] as const;

export type PkiComponent = (typeof PKI_COMPONENTS)[number];

/**
 * The extra rows `ximp tls status` shows while the CA is rolled (ca-roll.ts): the next CA after
 * the `bundle` step, the old one after `switch`. Not components of their own: nothing is issued
 * for them, and PKI_COMPONENTS stays the list every managed certificate is counted by.
 */
export const CA_ROLL_ROWS = ['ca-next', 'ca-old'] as const;

export type CaRollRow = (typeof CA_ROLL_ROWS)[number];

/** A row of `ximp tls status`: a managed component or a CA roll's extra CA. */
export type StatusComponent = PkiComponent | CaRollRow;

/** What a leaf certificate is for: the agent listener and API serve, the store client connects. */
export const COMPONENT_USAGE: Readonly<Record<LeafComponent, 'server' | 'client'>> = Object.freeze({
  collector: 'server',
  api: 'server',
  'store-client': 'client',
});

export function isLeafComponent(name: string): name is LeafComponent {
  return (LEAF_COMPONENTS as readonly string[]).includes(name);
}

export function isPkiComponent(name: string): name is PkiComponent {
  return (PKI_COMPONENTS as readonly string[]).includes(name);
}

export function isStatusComponent(name: string): name is StatusComponent {
  return isPkiComponent(name) || (CA_ROLL_ROWS as readonly string[]).includes(name);
}
