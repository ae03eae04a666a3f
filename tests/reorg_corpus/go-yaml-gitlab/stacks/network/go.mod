module github.com/acme/infra/stacks/network

go 1.22

require (
	github.com/acme/infra/lib v0.0.0
	github.com/pulumi/pulumi/sdk/v3 v3.130.0
)

replace github.com/acme/infra/lib => ../../lib
