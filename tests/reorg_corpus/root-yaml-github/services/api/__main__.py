"""The API stack reads the site's URL and ships the site's error page."""

import pulumi

site = pulumi.StackReference("acme/site/prod")
pulumi.export("site_url", site.get_output("url"))
pulumi.export("error_page", pulumi.FileAsset("../../public/index.html"))
