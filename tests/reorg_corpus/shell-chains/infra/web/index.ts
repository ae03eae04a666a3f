import * as pulumi from "@pulumi/pulumi";

const db = new pulumi.StackReference("acme/db/prod");
export const endpoint = db.getOutput("endpoint");
