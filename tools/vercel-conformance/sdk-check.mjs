// Every endpoint Orchestra Ops' Vercel adapter and the Vercel CLI call, exercised through
// Vercel's generated SDK (@vercel/sdk) against the sandbox emulator. The SDK validates
// each response against Vercel's schemas; a response it rejects fails that step.
//
// Input (environment): VERCEL_API_URL, VERCEL_TOKEN, VERCEL_TEAM_ID.
// Output: one JSON object on stdout, {"steps": [{"name", "ok", "error"?}]}; exit 1 when a
// step failed. Steps run in order on one project; a failed step does not stop the rest.
import { createHash } from "node:crypto";
import { Vercel } from "@vercel/sdk";

const serverURL = process.env.VERCEL_API_URL;
const bearerToken = process.env.VERCEL_TOKEN;
const teamId = process.env.VERCEL_TEAM_ID;
if (!serverURL || !bearerToken || !teamId) {
  console.error("sdk-check: set VERCEL_API_URL, VERCEL_TOKEN and VERCEL_TEAM_ID");
  process.exit(2);
}
const vercel = new Vercel({ bearerToken, serverURL });
const steps = [];
const seen = {};

async function step(name, call) {
  try {
    seen[name] = await call();
    steps.push({ name, ok: true });
  } catch (error) {
    const issues = error?.cause?.issues;
    const detail = issues
      ? issues.slice(0, 8).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
      : String(error?.message ?? error).slice(0, 600);
    steps.push({ name, ok: false, error: `${error?.name ?? "Error"}: ${detail}` });
  }
  return seen[name];
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function upload(text) {
  const data = new TextEncoder().encode(text);
  const sha = createHash("sha1").update(data).digest("hex");
  await vercel.deployments.uploadFile({
    teamId, xVercelDigest: sha, contentLength: data.length, requestBody: data,
  });
  return { file: "index.html", sha, size: data.length };
}

async function deploy(project, text, target) {
  const file = await upload(text);
  return vercel.deployments.createDeployment({
    teamId,
    requestBody: { name: project, project, target, files: [file] },
  });
}

async function ready(deployment) {
  for (let n = 0; n < 100; n += 1) {
    const current = await vercel.deployments.getDeployment({ idOrUrl: deployment.id, teamId });
    if (current.readyState === "READY") return current;
    expect(["QUEUED", "BUILDING"].includes(current.readyState), `state ${current.readyState}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${deployment.id} not READY after 10 s`);
}

const name = "sdk-site";
await step("GET /v2/user", async () => {
  const { user } = await vercel.user.getAuthUser();
  expect(user.defaultTeamId === teamId, `defaultTeamId is ${user.defaultTeamId}`);
});
await step("GET /v2/teams", () => vercel.teams.getTeams({}));
await step("GET /v2/teams/{teamId}", () => vercel.teams.getTeam({ teamId }));
await step("POST /v11/projects", () =>
  vercel.projects.createProject({ teamId, requestBody: { name } }));
await step("GET /v9/projects/{idOrName}", () =>
  vercel.projects.getProject({ idOrName: name, teamId }));
await step("GET /v9/projects/{idOrName} without teamId (personal scope)", async () => {
  try {
    await vercel.projects.getProject({ idOrName: name });
  } catch (error) {
    expect(error?.statusCode === 404 || /404/.test(String(error)), `not a 404: ${error}`);
    return;
  }
  throw new Error("the team's project was visible in the personal scope");
});
await step("GET /v10/projects", () => vercel.projects.getProjects({ teamId, limit: "20" }));
await step("PATCH /v9/projects/{idOrName}", () =>
  vercel.projects.updateProject({ idOrName: name, teamId, requestBody: { outputDirectory: "." } }));
const created = await step("POST /v10/projects/{idOrName}/env", () =>
  vercel.projects.createProjectEnv({
    idOrName: name, teamId, upsert: "true",
    requestBody: { key: "GREETING", value: "hello", type: "encrypted", target: ["preview"] },
  }));
const envId = created?.created?.id ?? created?.created?.[0]?.id;
await step("GET /v10/projects/{idOrName}/env", () =>
  vercel.projects.filterProjectEnvs({ idOrName: name, teamId, decrypt: "true" }));
await step("GET /v1/projects/{idOrName}/env/{id}", () =>
  vercel.projects.getProjectEnv({ idOrName: name, id: envId, teamId }));
await step("PATCH /v9/projects/{idOrName}/env/{id}", () =>
  vercel.projects.editProjectEnv({ idOrName: name, id: envId, teamId, requestBody: { value: "hi" } }));
await step("DELETE /v9/projects/{idOrName}/env/{id}", () =>
  vercel.projects.removeProjectEnv({ idOrName: name, id: envId, teamId }));
await step("POST /v2/files", () => upload("<h1>one</h1>"));
const first = await step("POST /v13/deployments (production)", () =>
  deploy(name, "<h1>one</h1>", "production"));
const second = await step("POST /v13/deployments (second production)", () =>
  deploy(name, "<h1>two</h1>", "production"));
const preview = await step("POST /v13/deployments (preview)", () =>
  deploy(name, "<h1>preview</h1>", undefined));
await step("GET /v13/deployments/{idOrUrl} (QUEUED or BUILDING)", async () => {
  const current = await vercel.deployments.getDeployment({ idOrUrl: preview.id, teamId });
  expect(current.readyState !== "READY", "the build delay was not applied");
});
await step("GET /v13/deployments/{idOrUrl} until READY", async () => {
  for (const deployment of [first, second, preview]) await ready(deployment);
});
const doomed = await step("POST /v13/deployments (to cancel)", () =>
  deploy(name, "<h1>never</h1>", undefined));
await step("PATCH /v12/deployments/{id}/cancel", async () => {
  const canceled = await vercel.deployments.cancelDeployment({ id: doomed.id, teamId });
  expect(canceled.readyState === "CANCELED", `state ${canceled.readyState}`);
});
await step("GET /v6/deployments", () =>
  vercel.deployments.getDeployments({ projectId: first.projectId, teamId, limit: 20 }));
await step("GET /v3/deployments/{idOrUrl}/events", () =>
  vercel.deployments.getDeploymentEvents({ idOrUrl: first.id, teamId }));
await step("POST /v2/deployments/{id}/aliases", () =>
  vercel.aliases.assignAlias({ id: preview.id, teamId, requestBody: { alias: "sdk-review.vercel.app" } }));
await step("GET /v2/deployments/{id}/aliases", () =>
  vercel.aliases.listDeploymentAliases({ id: preview.id, teamId }));
await step("POST /v1/projects/{projectId}/rollback/{deploymentId}", () =>
  vercel.projects.requestRollback({ projectId: first.projectId, deploymentId: first.id, teamId }));
await step("GET /v9/projects/{idOrName} after rollback", async () => {
  const project = await vercel.projects.getProject({ idOrName: name, teamId });
  expect(project.targets?.production?.id === first.id, "production is not the rolled-back one");
});
await step("POST /v10/projects/{projectId}/promote/{deploymentId}", () =>
  vercel.projects.requestPromote({ projectId: second.projectId, deploymentId: second.id, teamId }));
await step("GET /v9/projects/{idOrName} after promote", async () => {
  const project = await vercel.projects.getProject({ idOrName: name, teamId });
  expect(project.lastAliasRequest?.type === "promote", "lastAliasRequest is not a promote");
});
await step("GET /v9/projects/{idOrName}/custom-environments", () =>
  vercel.environment.getProjectsByIdOrNameCustomEnvironments({ idOrName: name, teamId }));
await step("DELETE /v9/projects/{idOrName}", () =>
  vercel.projects.deleteProject({ idOrName: name, teamId }));

process.stdout.write(JSON.stringify({ steps }) + "\n");
process.exit(steps.every((s) => s.ok) ? 0 : 1);
