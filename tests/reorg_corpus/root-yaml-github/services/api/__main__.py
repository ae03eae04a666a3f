"""The API stack reads the site's URL."""

import pulumi

site = pulumi.StackReference("acme/site/prod")
pulumi.export("site_url", site.get_output("url"))
