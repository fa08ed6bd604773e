import { createRouter, createWebHashHistory } from 'vue-router';
import { WORKSPACES } from './workspaces';

// Hash history: the same URLs work under app:// in Electron and http:// in the web host.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: `/${WORKSPACES[0]!.id}` },
    ...WORKSPACES.map((w) => ({ path: `/${w.id}`, name: w.id, component: w.view, meta: { workspace: w.id } })),
    { path: '/:pathMatch(.*)*', redirect: `/${WORKSPACES[0]!.id}` },
  ],
});
