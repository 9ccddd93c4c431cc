// Where socket.io-client connects for a worker URL.

/**
 * socket.io-client reads a path in the URL as a namespace; Roomshard serves namespace `/`
 * at `<url>/socket.io/`, so the path goes into the `path` option.
 * @param {string} url
 */
export function socketTarget(url) {
  const u = new URL(url);
  if (u.protocol === "ws:") u.protocol = "http:";
  if (u.protocol === "wss:") u.protocol = "https:";
  return { origin: u.origin, path: u.pathname.replace(/\/+$/, "") + "/socket.io/" };
}
