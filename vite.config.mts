import vue from '@vitejs/plugin-vue';
import { defineConfig, type Plugin } from 'vite';
import { contentSecurityPolicy } from './shared/security/csp.ts';

/** The built page carries the CSP itself, so it holds wherever it is loaded from. */
function cspMeta(): Plugin {
  return {
    name: 'blockwise-csp-meta',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy() }, injectTo: 'head-prepend' }],
  };
}

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [vue(), cspMeta()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
});
