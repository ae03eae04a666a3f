package main

import (
	"github.com/acme/infra/stacks/network/internal/tags"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		dns, err := pulumi.NewStackReference(ctx, "acme/dns/prod", nil)
		if err != nil {
			return err
		}
		ctx.Export("zone", dns.GetOutput(pulumi.String("zoneId")))
		ctx.Export("tags", pulumi.ToStringMap(tags.Default()))
		return nil
	})
}
