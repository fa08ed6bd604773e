/**
 * The renderer's Content Security Policy, written once for both hosts. Scripts come only from
 * the app itself and nothing may eval. Styles allow inline because the component library
 * (Naive UI) injects its themed styles at run time; styles cannot run code.
 */
export function contentSecurityPolicy(options: { connect?: readonly string[]; frameAncestors?: boolean } = {}): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'", ...(options.connect ?? [])],
    'media-src': ["'self'", 'blob:'],
    'worker-src': ["'self'", 'blob:'],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
  };
  // frame-ancestors is ignored (and warned about) in a <meta> policy; only HTTP headers carry it.
  if (options.frameAncestors) directives['frame-ancestors'] = ["'none'"];
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}
