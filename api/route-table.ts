import type { FastifyInstance, HTTPMethods } from 'fastify';

export interface RegisteredRoute {
  method: HTTPMethods;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** every method and path the API registered (fastify's implicit HEAD routes included), in registration order */
    readonly routeTable: readonly RegisteredRoute[];
  }
}

/**
 * Collects the routes as they are registered (install before the route plugins), so the 405 answer and the hostile
 * input tests find every route, present and future, without a list of paths kept by hand.
 */
export function installRouteTable(app: FastifyInstance): void {
  const routes: RegisteredRoute[] = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
}

/** The methods another route answers on this concrete path (the router's own matching, so params count). */
export function allowedMethods(app: FastifyInstance, url: string): HTTPMethods[] {
  const methods = new Set(app.routeTable.map((r) => r.method));
  return [...methods].filter((method) => app.findRoute({ method, url }) !== null).sort();
}
