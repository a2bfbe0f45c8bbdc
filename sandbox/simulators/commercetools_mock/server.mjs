// Serves @labdigital/commercetools-mock (the vendor-maintained HTTP mock of the commercetools API) on
// 127.0.0.1 and an ephemeral port, printed as one line {"port": N} on stdout once it listens.
// Authentication is on (a bearer token from POST /oauth/token is required on every API call). The process
// exits when its stdin closes, so a test run that dies never leaves a server behind.
//
// The mock stamps createdAt/lastModifiedAt with `new Date()`. So that tests and the sandbox can run it on
// their virtual clock, PUT /__hopline/clock {"now": ISO-8601} pins the time every later stamp reads (until
// the next PUT; {"now": null} returns to the wall clock). Not part of the commercetools API.
//
// With HOPLINE_MOCK_SEQUENTIAL_IDS=1 in the environment every id the mock assigns is a counter shaped as a
// UUID (v4 layout), so a seeded sandbox day names its resources the same every run. GET /__hopline/requests
// answers the API calls received as {"<flow> METHOD /path": count}: the flow from the caller's User-Agent
// (`hopline/<hop>`, else "-"), ids in the path as {id}, the query left out. Calls that carry the header
// `x-hopline-observer` (the sandbox's own seeding and judging) are not counted.
import { CommercetoolsMock } from "@labdigital/commercetools-mock";

if (process.env.HOPLINE_MOCK_SEQUENTIAL_IDS === "1") {
  // uuid's v4() (how the mock makes ids) asks the global Web Crypto for randomUUID at each call.
  let next = 1;
  globalThis.crypto.randomUUID = () => `00000000-0000-4000-8000-${(next++).toString(16).padStart(12, "0")}`;
}

const RealDate = Date;
let pinned = null; // epoch milliseconds, or null for the wall clock

class PinnedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0 && pinned !== null) {
      super(pinned);
    } else {
      super(...args);
    }
  }
  static now() {
    return pinned !== null ? pinned : RealDate.now();
  }
}
globalThis.Date = PinnedDate;

const mock = new CommercetoolsMock({
  enableAuthentication: true,
  validateCredentials: true,
  silent: true,
});

// The mock's order update handler has no `setReturnShipmentState` (card §5, the API reference's
// OrderSetReturnShipmentStateAction: {returnItemId, shipmentState}). Added here as documented, so the
// returns write-back runs against the mock end to end; every other action is the vendor's.
const RETURN_SHIPMENT_STATES = new Set(["Advised", "Returned", "BackInStock", "Unusable"]);
const orderActions = Object.getPrototypeOf(mock._repositories.order.actions);
if (orderActions.setReturnShipmentState === undefined) {
  orderActions.setReturnShipmentState = function (context, resource, { returnItemId, shipmentState }) {
    if (!RETURN_SHIPMENT_STATES.has(shipmentState)) {
      throw new Error(`setReturnShipmentState: unknown shipmentState ${shipmentState}`);
    }
    const item = (resource.returnInfo || []).flatMap((info) => info.items).find((i) => i.id === returnItemId);
    if (!item) {
      throw new Error(`setReturnShipmentState: no return item ${returnItemId}`);
    }
    item.shipmentState = shipmentState;
  };
}

const requests = new Map();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
mock.app.addHook("onRequest", async (request) => {
  const path = request.url.split("?")[0];
  if (path.startsWith("/__hopline/") || request.headers["x-hopline-observer"] !== undefined) {
    return;
  }
  const route = path
    .split("/")
    .map((part) => (UUID.test(part) ? "{id}" : part))
    .join("/");
  const agent = String(request.headers["user-agent"] || "");
  const flow = agent.startsWith("hopline/") ? agent.slice("hopline/".length).split(" ")[0] : "-";
  const key = `${flow} ${request.method} ${route}`;
  requests.set(key, (requests.get(key) || 0) + 1);
});
mock.app.get("/__hopline/requests", async () => Object.fromEntries(requests));

mock.app.put("/__hopline/clock", async (request, reply) => {
  const now = request.body && request.body.now;
  if (now === null || now === undefined) {
    pinned = null;
  } else {
    const at = RealDate.parse(now);
    if (Number.isNaN(at)) {
      return reply.status(400).send({ message: `not an ISO-8601 time: ${now}` });
    }
    pinned = at;
  }
  return { now: new PinnedDate().toISOString() };
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
