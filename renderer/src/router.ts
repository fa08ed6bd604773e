import { createRouter, createWebHashHistory } from 'vue-router';
import { WORKSPACES } from './workspaces';

// Hash history: the same URLs work under app:// in Electron and http:// in the web host.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: `/${WORKSPACES[0]!.id}` },
    ...WORKSPACES.map((w) => ({ path: `/${w.id}`, name: w.id, component: w.view, meta: { workspace: w.id } })),
    // One run's page, reached from every table and chart; it sits under Compare in the navigation.
    { path: '/runs/:id', name: 'run', component: () => import('./views/RunView.vue'), meta: { workspace: 'compare' } },
    { path: '/:pathMatch(.*)*', redirect: `/${WORKSPACES[0]!.id}` },
  ],
});
