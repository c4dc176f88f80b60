/** Certificates the collector manages under `<data_dir>/pki`, besides the CA itself. */
export const LEAF_COMPONENTS = ['collector', 'api', 'store-client'] as const;

export type LeafComponent = (typeof LEAF_COMPONENTS)[number];

/** Every component `ximp tls status` reports on, the CA first. */
export const PKI_COMPONENTS = ['ca', ...LEAF_COMPONENTS] as const;

export type PkiComponent = (typeof PKI_COMPONENTS)[number];

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
