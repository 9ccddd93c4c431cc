// A TCP forwarder between one client and the worker, whose network the test can take
// down: `down()` destroys every connection passing through it, both ways, and refuses
// new ones until `up()`, as a dropped network does. Only the client that connects
// through it is affected.
import net from "node:net";

export async function forwarder(targetUrl) {
  const target = new URL(targetUrl);
  const pipes = new Set();
  let isDown = false;
  const server = net.createServer((client) => {
    if (isDown) { client.destroy(); return; }
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    pipes.add(pair);
    const end = () => { client.destroy(); upstream.destroy(); pipes.delete(pair); };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    down() {
      isDown = true;
      for (const { client, upstream } of pipes) { client.destroy(); upstream.destroy(); }
      pipes.clear();
    },
    up() { isDown = false; },
    close() { this.down(); server.close(); },
  };
}
