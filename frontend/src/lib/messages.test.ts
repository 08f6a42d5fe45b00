import { describe, expect, it } from "vitest";
import document from "../../openapi.json";
import type { Streams } from "../hooks/useStream";

// tsc refuses this object unless it names every stream of ``Streams``, and nothing else.
const PATHS: Record<keyof Streams, null> = { "/rl/ws/orderbook": null, "/rl/ws/actions": null, "/rl/ws/training": null };

describe("the streams' types", () => {
  it("cover exactly the streams of the OpenAPI document", () => {
    expect(Object.keys(PATHS).sort()).toEqual(Object.keys(document["x-streams"]).sort());
  });
});
