// What a web front end relies on in the types openapi-typescript makes from the service's
// OpenAPI document (the test writes them beside this file as api.d.ts). Compiled with
// tsc --strict: a vocabulary that became any string, a progress report that became an
// untyped object, a lost parameter or a cursor of two types fails the compilation.
import type { components, operations } from "./api";

type Schemas = components["schemas"];
type Commitment = Schemas["Commitment"];

export const report: NonNullable<Commitment["completion"]> = {
  completion: "substantial",
  note: "Half of the freshwater data sets are published.",
  as_of: "2026-11-20",
  reported_at: "2026-11-27T02:09:45.123456Z",
};
export const noReportYet: Commitment["completion"] = null;
export const values: Commitment["ogp_values"] = ["access_to_information", "civic_participation"];
export const withdrawn: Commitment["status"] = "withdrawn";
export const role: Schemas["Membership"]["role"] = "community";

// @ts-expect-error: completion is a word of OGP's scale, not any text
export const halfway: Schemas["Completion"] = "halfway";
// @ts-expect-error: a commitment is active or withdrawn
export const paused: Commitment["status"] = "paused";
// @ts-expect-error: the OGP values are a closed list
export const unknownValue: Commitment["ogp_values"] = ["transparency"];
// @ts-expect-error: a partner responds by confirming or disputing
export const maybe: Schemas["ActionRespond"]["response"] = "maybe";
export const assessed: Commitment["assessed_completion"] = "limited";
export const stage: Schemas["Assessment"]["stage"] = "end_of_term";
export const opened: Schemas["Assessment"]["did_it_open_government"] = "marginal";
export const actionStatus: Schemas["Action"]["status"] = "withdrawn";
// @ts-expect-error: an assessment is made at mid-term, end of term or another time
export const lateStage: Schemas["Assessment"]["stage"] = "later";
// @ts-expect-error: a progress report is a report, not any object
export const notAReport: Commitment["completion"] = { percent: 50 };

type RemovePartner = operations["removePartner"]["parameters"];
export const leaving: NonNullable<RemovePartner["query"]> = { reason: "The partnership ended." };
export const ifMatch: NonNullable<RemovePartner["header"]> = { "If-Match": '"7"' };

export const retrySafely: NonNullable<operations["verifyLog"]["parameters"]["header"]> = {
  "Idempotency-Key": "verify-2026-11-27",
};

type ListEvents = operations["listEvents"];
type EventPage = ListEvents["responses"][200]["content"]["application/json"];
// The next page starts where this one says: the cursor it returns is the one it takes.
export const nextPage = (page: EventPage): NonNullable<ListEvents["parameters"]["query"]> => ({
  after: page.next ?? undefined,
  limit: 100,
});

type NotFound = operations["getCommitment"]["responses"][404]["content"]["application/problem+json"];
export const notFound: NotFound = {
  type: "urn:tutahi:problem:not-found",
  title: "Not Found",
  status: 404,
  detail: "no such commitment",
};
