// The page's configuration (web/README.md). This default leaves everything to the page's
// defaults: the API at /trpc on this origin, no sign-in page. Whoever serves the page
// replaces this file: the local stack answers its own, a deployment writes one with its
// API URL and its sign-in.
window.CONNECTOR_CONSOLE = window.CONNECTOR_CONSOLE || {};
