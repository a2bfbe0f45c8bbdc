// Serves @labdigital/commercetools-mock (the vendor-maintained HTTP mock of the commercetools API) on
// 127.0.0.1 and an ephemeral port, printed as one line {"port": N} on stdout once it listens.
// Authentication is on (a bearer token from POST /oauth/token is required on every API call). The process
// exits when its stdin closes, so a test run that dies never leaves a server behind.
import { CommercetoolsMock } from "@labdigital/commercetools-mock";

const mock = new CommercetoolsMock({
  enableAuthentication: true,
  validateCredentials: true,
  silent: true,
});

// runServer() would bind every interface; listen on loopback only.
await mock.app.listen({ port: 0, host: "127.0.0.1" });
const { port } = mock.app.server.address();
process.stdout.write(JSON.stringify({ port }) + "\n");

const stop = async () => {
  await mock.app.close();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
