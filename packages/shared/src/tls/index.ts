export * from './tls-options';
export * from './cert-info';
export * from './reloadable-context';
export * from './component-marker';
export * from './trust-failure';
