import * as pulumi from "@pulumi/pulumi";
import * as vercel from "@pulumiverse/vercel";

// Frontend infrastructure for orchestra-main. The admin interface and the
// dashboard are still shipped as Docker images by hand; this program only
// manages the Vercel projects and domains that were set up for previews.

const config = new pulumi.Config();
const domain = config.require("domain");
const adminSubdomain = config.get("adminSubdomain") ?? "admin";
const dashboardSubdomain = config.get("dashboardSubdomain") ?? "dashboard";
const githubRepo = config.require("githubRepo");

// Backend API URL comes from the Python Lambda Labs stack.
const backend = new pulumi.StackReference("orchestra/lambda-infra/dev");
const apiUrl = backend.getOutput("api_url") as pulumi.Output<string>;

const admin = new vercel.Project("admin-interface", {
    name: "orchestra-admin-interface",
    framework: "vite",
    rootDirectory: "admin-interface",
    buildCommand: "npm run build",
    outputDirectory: "dist",
    gitRepository: { type: "github", repo: githubRepo },
});

const dashboard = new vercel.Project("dashboard", {
    name: "orchestra-dashboard",
    framework: "nextjs",
    rootDirectory: "dashboard",
    gitRepository: { type: "github", repo: githubRepo },
});

new vercel.ProjectEnvironmentVariable("admin-api-url", {
    projectId: admin.id,
    key: "VITE_API_URL",
    value: apiUrl,
    targets: ["preview", "production"],
});

new vercel.ProjectEnvironmentVariable("dashboard-api-url", {
    projectId: dashboard.id,
    key: "NEXT_PUBLIC_API_URL",
    value: apiUrl,
    targets: ["preview", "production"],
});

const adminDomain = new vercel.ProjectDomain("admin-domain", {
    projectId: admin.id,
    domain: `${adminSubdomain}.${domain}`,
});

const dashboardDomain = new vercel.ProjectDomain("dashboard-domain", {
    projectId: dashboard.id,
    domain: `${dashboardSubdomain}.${domain}`,
});

export const adminProjectId = admin.id;
export const dashboardProjectId = dashboard.id;
export const adminUrl = pulumi.interpolate`https://${adminDomain.domain}`;
export const dashboardUrl = pulumi.interpolate`https://${dashboardDomain.domain}`;
