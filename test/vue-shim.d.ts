// Lets Node-side code (the UI tests) import renderer modules that lazy-load views; vue-tsc checks the views themselves.
declare module '*.vue' {
  import type { Component } from 'vue';
  const component: Component;
  export default component;
}
